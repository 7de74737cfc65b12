"""Analyses: plain functions over a County (standardised GeoDataFrames) and its :class:`~landkit.settings.Settings`.

They never read or write files and never print; they return result objects holding
GeoDataFrames/DataFrames and a JSON-ready summary dict.
"""
