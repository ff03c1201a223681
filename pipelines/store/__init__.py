"""pipelines/store"""
