"""The Streamlit dashboard that ``app.py`` shows: one module a page, plus shared views.

Pages (``navigation.PAGES``): Run (start one episode), Episodes (browse and replay stored
episodes), Correct (edit an episode's plan, re-run it in simulation, save the correction),
Skills (browse, search and export the library) and Progress (success and corrections over
time). Each page module keeps its logic in plain functions that take a Store, a library or
rows and return rows, so tests call them without Streamlit; its ``render()`` is the thin
Streamlit view, run when Streamlit executes the module's file as a page. Streamlit's "magic"
writes any bare expression at a page module's top level to the page, so constants there are
documented with comments, not attribute docstrings.

Nothing is cached across reruns: every script run opens the workspace's Store afresh (a
SQLite connection belongs to the thread that opened it), so episodes a headless run adds
appear on the next rerun.
"""
