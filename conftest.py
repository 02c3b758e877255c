"""Root test configuration, loaded before any test or doctest module is imported.

The Excel functions are tested through xlwings' Office.js runtime
(``xlwings.server``), the code xlwings Lite and xlwings Server run. xlwings
chooses its ``@func`` decorators when it is first imported, so the runtime is
selected here, before anything imports xlwings. That runtime is xlwings PRO
code, used under its free noncommercial key: set for the tests only, never in
library code.
"""

import os

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
