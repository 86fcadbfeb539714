"""MathJax inside the page, from an installed package: formulas render offline.

nbconvert's pages load MathJax from a CDN, so in an exam room, on a train or on a grading
server without internet a student's feedback shows raw LaTeX. MathJax 2.7 ships in the
``jupyter-server-mathjax`` package (Jupyter's own); its loader and its combined TeX
configuration (TeX input, MathML and HTML output, ~430 kB) are written into the page itself,
because a page handed back through nbgrader's exchange or an LMS travels alone, without files
beside it. The output is the browser's native MathML (every current browser renders MathML
Core), so no web font has to be fetched either.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

PACKAGE = "jupyter_server_mathjax"
LOADER, CONFIG = "MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js"
# nbconvert's mathjax macro: one <script src="https://.../mathjax/..."> </script>
REMOTE = re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^\"']*mathjax[^\"']*[\"'][^>]*>\s*</script>",
                    re.IGNORECASE)
SETTINGS = """\
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
            displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, processEnvironments: true},
  menuSettings: {renderer: "NativeMML", zoom: "None"},
  showMathMenu: false, messageStyle: "none"
});"""


def _script_text(code: str) -> str:
    # Inside <script>, "</script" would end the element and "<!--" changes how the HTML
    # parser reads what follows; "<\/script" and "<\!--" mean the same to JavaScript, in
    # strings and in (non-unicode) regular expressions alike. ("</" alone must stay: in
    # `/</g` the slash ends a regular expression.)
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


@lru_cache(maxsize=1)
def offline_mathjax() -> str:
    """The ``<script>`` elements that load and configure MathJax from inside a page."""
    root = files(PACKAGE) / "static"
    loader = (root / LOADER).read_text(encoding="utf-8")
    config = (root / CONFIG).read_text(encoding="utf-8")
    return (f'<script type="text/x-mathjax-config">{SETTINGS}</script>\n'
            f"<script>{_script_text(loader)}</script>\n<script>{_script_text(config)}</script>")


def inline_mathjax(html: str) -> str:
    """``html`` with its MathJax from a CDN replaced by the installed copy, inlined.

    Parameters
    ----------
    html : str
        A page as nbconvert writes it.

    Returns
    -------
    str
        The same page, loading nothing from the network for its formulas.
    """
    return REMOTE.sub(lambda _: offline_mathjax(), html)
