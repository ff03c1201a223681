"""billtracker/serve/read"""
