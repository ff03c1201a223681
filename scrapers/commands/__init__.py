"""Scrapy commands of billtracker (COMMANDS_MODULE): `crawl` with an honest exit code."""
