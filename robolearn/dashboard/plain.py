"""Text from data shown as text: the dashboard never renders it as Markdown or HTML.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, titles, alerts (``st.error``,
``st.info``...) and widget labels: a skill description imported from a bundle that holds
``![x](https://host/pixel.png)`` would make every browser showing the page fetch that image,
and ``[repair the library](https://...)`` would be a link robolearn seemed to offer. So text
that comes from data (descriptions, instructions, who and why, error messages quoting input)
goes through :func:`escaped` before it joins Markdown, or is shown with ``st.text``, ``st.code``
or in a dataframe, which never render it.
"""

from __future__ import annotations

import re

_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|:$~=^&\"'])")
"""ASCII punctuation that Markdown, Streamlit's directives (``:red[...]``, ``:material/x:``),
LaTeX (``$...$``), HTML tags and entities give a meaning; CommonMark shows each literally
after a backslash."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters and bidirectional overrides, which could hide or reorder what is shown."""


def escaped(text: object) -> str:
    """``text`` for a Markdown context, shown exactly as written, on one line.

    Example: ``st.markdown(f"**Instruction:** {escaped(episode.instruction)}")``.
    """
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    return _MARKUP.sub(r"\\\1", flat)
