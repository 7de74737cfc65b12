"""Analyses: plain functions over a County (standardised GeoDataFrames) and a Config.

They never read or write files and never print; they return result objects holding
GeoDataFrames/DataFrames and a JSON-ready summary dict.
"""
