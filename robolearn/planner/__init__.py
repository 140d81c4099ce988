"""Planners turn a task instance into a plan of skill calls.

Kept import-light: the language-model planner loads torch only when it is used.
"""
