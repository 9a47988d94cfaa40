"""Pure functions from (desired, live, now) to a plan: schedules, claims, per-code decisions,
drift, slots, the timeline and the per-lock checks of `validate`. No I/O, no clock.
"""
