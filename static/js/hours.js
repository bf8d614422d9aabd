// Opening hours in a minute. Without JavaScript every button submits the form and the
// server does the same work (a usual week filled in, a day copied, two periods a day
// always shown). With it, the same happens in the page at once, nothing is saved until
// "Save", and a day's empty second period folds behind an "Add a period" button.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.hours-form");
  if (!form) return;
  const status = form.querySelector("[data-hours-status]");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  const periodsOf = (weekday) =>
    Array.from(form.querySelectorAll(".hours-period")).filter((row) =>
      row.querySelector(`input[name^="d${weekday}_"]`)
    );
  const inputsOf = (row) => row.querySelectorAll("input");

  // A day's empty periods after its first fold away behind a button.
  for (const box of form.querySelectorAll(".hours-periods")) {
    const rows = Array.from(box.querySelectorAll(".hours-period"));
    const empty = rows.slice(1).filter((row) => Array.from(inputsOf(row)).every((i) => !i.value));
    if (!empty.length) continue;
    for (const row of empty) row.hidden = true;
    const add = document.createElement("button");
    add.type = "button";
    add.className = "button button-secondary button-small hours-add";
    add.textContent = box.dataset.addLabel;
    add.setAttribute("aria-label", `${box.dataset.addLabel} (${box.dataset.dayName})`);
    add.addEventListener("click", () => {
      const next = box.querySelector(".hours-period[hidden]");
      if (next) {
        next.hidden = false;
        next.querySelector("input").focus();
      }
      if (!box.querySelector(".hours-period[hidden]")) add.hidden = true;
    });
    box.append(add);
  }

  const show = (row) => {
    row.hidden = false;
    const box = row.closest(".hours-periods");
    const add = box.querySelector(".hours-add");
    if (add && !box.querySelector(".hours-period[hidden]")) add.hidden = true;
  };

  const setDay = (weekday, spans) => {
    periodsOf(weekday).forEach((row, n) => {
      const [opens, closes] = inputsOf(row);
      const span = spans[n] || ["", ""];
      opens.value = span[0];
      closes.value = span[1];
      if (span[0] || span[1]) show(row);
    });
  };

  // A usual week in one tap.
  for (const button of form.querySelectorAll("button[data-periods]")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const byDay = Array.from({ length: 7 }, () => []);
      for (const part of button.dataset.periods.split(";")) {
        const [day, opens, closes] = part.split("|");
        byDay[Number(day)].push([opens.slice(0, 5), closes.slice(0, 5)]);
      }
      byDay.forEach((spans, weekday) => setDay(weekday, spans));
      say(button.dataset.done);
    });
  }

  // A day copied to the days ticked.
  const copy = form.querySelector("button[data-copy]");
  if (copy) {
    copy.addEventListener("click", (event) => {
      const source = form.querySelector("select[name=copy_from]").value;
      const targets = Array.from(form.querySelectorAll("input[name=copy_to]:checked"));
      if (!targets.length) return; // the server says what is missing
      const spans = periodsOf(source)
        .map((row) => Array.from(inputsOf(row), (i) => i.value))
        .filter(([opens, closes]) => opens || closes);
      // A day with more periods than another shows fields for: the server copies it.
      if (targets.some((target) => periodsOf(target.value).length < spans.length)) return;
      event.preventDefault();
      for (const target of targets) {
        if (target.value !== source) setDay(target.value, spans);
        target.checked = false;
      }
      say(copy.dataset.done);
    });
  }
});
