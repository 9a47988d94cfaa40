"""Carrying a plan out: reading the fleet, applying changes lock by lock, checking the writes
landed, reviewed plan files, and `import`.
"""
