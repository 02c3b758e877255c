Attribute VB_Name = "bizcase"
' bizcase buttons for classic xlwings (Windows desktop Excel).
'
' Import this module into the workbook (Alt+F11 > File > Import File...), next to
' the xlwings VBA module (xlwings tab > or `xlwings vba edit`). The generated
' workbooks' buttons already name these macros; each runs a bizcase script on the
' workbook that holds the button (xw.Book.caller() on the Python side).
Option Explicit

Sub bizcase_monte_carlo()
    RunPython "import addin.macros as m; m.bizcase_monte_carlo()"
End Sub

Sub bizcase_sensitivity()
    RunPython "import addin.macros as m; m.bizcase_sensitivity()"
End Sub

Sub bizcase_check()
    RunPython "import addin.macros as m; m.bizcase_check()"
End Sub

Sub bizcase_rebuild()
    RunPython "import addin.macros as m; m.bizcase_rebuild()"
End Sub

Sub bizcase_refresh()
    RunPython "import addin.macros as m; m.bizcase_refresh()"
End Sub
