"""The template version every generated workbook records (``_bizcase!B1``).

Kept apart from the generator so that reading a workbook does not import it.

History: 1.0, the first release; 1.1, period 0 (now) opens the timeline,
mid-period timing, working capital released at the horizon, terminal value on
a steady-state year, checks that recompute by another route.
"""

TEMPLATE_VERSION = "1.1"
