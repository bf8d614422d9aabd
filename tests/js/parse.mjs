// Reads iCalendar feeds with Mozilla's ical.js (the parser behind Thunderbird)
// and prints what a calendar client would see, as JSON, for tests/support/icalcheck.py.
//
//   node parse.mjs feed.ics [more.ics ...]   -> a JSON list, one entry per file
//   node parse.mjs < feed.ics                -> one JSON object
//
// Any parse error is fatal: the process prints it on stderr and exits with 1.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function iso(time) {
  return time ? time.toJSDate().toISOString() : null;
}

function zoneOf(time) {
  if (!time) return null;
  if (time.isDate) return "date";
  return time.zone ? time.zone.tzid : "floating";
}

function read(text) {
  const root = new ICAL.Component(ICAL.parse(text));
  if (root.name !== "vcalendar") throw new Error(`root component is ${root.name}`);
  // Touch every property value so that lazily decoded values are decoded too.
  const walk = (component) => {
    for (const property of component.getAllProperties()) property.getValues();
    for (const child of component.getAllSubcomponents()) walk(child);
  };
  walk(root);
  const refresh = root.getFirstPropertyValue("refresh-interval");
  const calendar = {
    prodid: root.getFirstPropertyValue("prodid"),
    version: root.getFirstPropertyValue("version"),
    calscale: root.getFirstPropertyValue("calscale"),
    method: root.getFirstPropertyValue("method"),
    name: root.getFirstPropertyValue("name"),
    xWrCalname: root.getFirstPropertyValue("x-wr-calname"),
    refreshInterval: refresh ? refresh.toSeconds() : null,
    refreshIntervalIsDuration: refresh instanceof ICAL.Duration,
    publishedTtl: String(root.getFirstPropertyValue("x-published-ttl") ?? ""),
    components: root.getAllSubcomponents().map((c) => c.name),
  };
  const events = root.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    const stamp = vevent.getFirstPropertyValue("dtstamp");
    const modified = vevent.getFirstPropertyValue("last-modified");
    const created = vevent.getFirstPropertyValue("created");
    return {
      uid: event.uid,
      status: vevent.getFirstPropertyValue("status"),
      sequence: event.sequence,
      summary: event.summary,
      location: event.location,
      description: event.description,
      url: vevent.getFirstPropertyValue("url"),
      start: iso(event.startDate),
      end: iso(event.endDate),
      startZone: zoneOf(event.startDate),
      endZone: zoneOf(event.endDate),
      dtstamp: iso(stamp),
      lastModified: iso(modified),
      created: iso(created),
    };
  });
  return { calendar, events };
}

function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stdout.write(JSON.stringify(read(readFileSync(0, "utf8"))));
    return;
  }
  const results = files.map((file) => read(readFileSync(file, "utf8")));
  process.stdout.write(JSON.stringify(results));
}

try {
  main();
} catch (error) {
  process.stderr.write(`ical.js: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}
