"""billtracker/serve"""
