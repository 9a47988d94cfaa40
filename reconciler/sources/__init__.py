"""Reservation sources: calendars that produce stays (octoDNS's sources: they never write)."""
