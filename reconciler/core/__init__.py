"""The plain values every layer shares: desired and live codes, capabilities, the plan,
PIN rules, the error tree and the run settings. Imports nothing else of accesscodes.
"""
