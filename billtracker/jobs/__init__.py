"""billtracker/jobs"""
