"""Spiders for national law databases outside the Legislative Yuan (law.moj.gov.tw)."""
