"""The headline metrics of many projects at once, as one table.

Vectorised over projects: each metric is one engine call on the whole
(projects x periods) batch, not a loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import finance

METRICS = (
    "npv",
    "irr",
    "irr_count",
    "mirr",
    "payback",
    "discounted_payback",
    "roi",
    "profitability_index",
)


def project_metrics(
    flows, discount_rate, finance_rate=None, reinvest_rate=None, index=None
) -> pd.DataFrame:
    """NPV, IRR (and how many there are), MIRR, payback, discounted payback, ROI and PI per project.

    Parameters
    ----------
    flows : array_like, shape (projects, periods)
        Annual cash flows, first at t = 0.
    discount_rate : float or array_like of shape (projects,)
    finance_rate, reinvest_rate : float or array_like, optional
        For MIRR; both default to the discount rate.
    index : sequence, optional
        Row labels (project names).

    Returns
    -------
    pandas.DataFrame
        One row per project, one column per name in :data:`METRICS`; ``nan``
        where a metric does not exist (no IRR), ``inf`` for never paying back.

    Examples
    --------
    >>> table = project_metrics([[-100, 60, 60], [-100, 10, 10]], 0.10, index=["a", "b"])
    >>> table[["npv", "irr", "payback"]].round(4)
           npv     irr  payback
    a   4.1322  0.1307   1.6667
    b -82.6446 -0.6298      inf
    """
    v = np.atleast_2d(np.asarray(flows, dtype=float))
    rate = np.broadcast_to(np.asarray(discount_rate, dtype=float), (v.shape[0],))
    f = rate if finance_rate is None else finance_rate
    r = rate if reinvest_rate is None else reinvest_rate
    columns = {
        "npv": finance.npv(rate, v),
        "irr": finance.irr(v),
        "irr_count": [roots.size for roots in finance.irr_all(v)],
        "mirr": finance.mirr(v, f, r),
        "payback": finance.payback(v),
        "discounted_payback": finance.discounted_payback(rate, v),
        "roi": finance.roi(v),
        "profitability_index": finance.profitability_index(rate, v),
    }
    return pd.DataFrame(columns, index=index)
