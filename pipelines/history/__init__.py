"""pipelines/history"""
