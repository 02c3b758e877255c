Attribute VB_Name = "bizcase"
' bizcase buttons for classic xlwings (Windows desktop Excel).
' Generated from workbooks/buttons.py by `python -m addin.bas`; do not edit.
'
' Set-up, once per workbook:
' 1. Save the workbook as .xlsm (File > Save As > Excel Macro-Enabled Workbook).
' 2. Alt+F11 > File > Import File... > this file.
' 3. RunPython needs xlwings' VBA code: with the xlwings add-in installed, tick
'    "xlwings" under Tools > References in the VBA editor; without the add-in,
'    import the standalone xlwings module instead (`xlwings quickstart NAME
'    --standalone` writes one). The Python that xlwings runs needs bizcase.
' 4. Run bizcase_assign_buttons once (Alt+F8), then save: each button's
'    OnAction then names its Sub below. The generated .xlsx files carry no macro
'    on their buttons, because a button naming a macro the workbook lacks makes
'    Excel say "Cannot run the macro".
'
' These Subs are the only classic route: "Import Functions" brings the BC_
' functions (UDF Modules: udfs.functions), not these Subs. Each runs a bizcase
' script on the workbook that holds the button (xw.Book.caller() in Python).
Option Explicit

' Run Monte Carlo: the button btnMonteCarlo on Cover!M4
Sub bizcase_monte_carlo()
    RunPython "import addin.macros as m; m.bizcase_monte_carlo()"
End Sub

' Run sensitivity: the button btnSensitivity on Cover!M7
Sub bizcase_sensitivity()
    RunPython "import addin.macros as m; m.bizcase_sensitivity()"
End Sub

' Check the model: the button btnCheck on Cover!M10
Sub bizcase_check()
    RunPython "import addin.macros as m; m.bizcase_check()"
End Sub

' Rebuild in latest template: the button btnRebuild on Cover!M13
Sub bizcase_rebuild()
    RunPython "import addin.macros as m; m.bizcase_rebuild()"
End Sub

' Refresh the selection: the button btnRefresh on Summary!B20
Sub bizcase_refresh()
    RunPython "import addin.macros as m; m.bizcase_refresh()"
End Sub

' Point each bizcase button (a shape named as below) at its Sub, and say how many
' it found; shapes with other names are left alone.
Sub bizcase_assign_buttons()
    Dim sheet As Object, shape As Object, action As String, assigned As Long
    For Each sheet In ThisWorkbook.Worksheets
        For Each shape In sheet.Shapes
            Select Case shape.Name
                Case "btnMonteCarlo": action = "bizcase_monte_carlo"
                Case "btnSensitivity": action = "bizcase_sensitivity"
                Case "btnCheck": action = "bizcase_check"
                Case "btnRebuild": action = "bizcase_rebuild"
                Case "btnRefresh": action = "bizcase_refresh"
                Case Else: action = ""
            End Select
            If action <> "" Then
                shape.OnAction = action
                assigned = assigned + 1
            End If
        Next shape
    Next sheet
    MsgBox "bizcase: " & assigned & " button(s) now run their macros. Save the workbook to keep this."
End Sub
