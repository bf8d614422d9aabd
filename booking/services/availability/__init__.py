"""availability"""
