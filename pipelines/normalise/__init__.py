"""pipelines/normalise"""
