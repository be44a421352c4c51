# Texts of the /dashboard page (figures for API users).

dashboard-title = PTL: status of persons who suffered from human trafficking
dashboard-logout = Sign out
dashboard-login = Sign in
dashboard-open = Open
dashboard-totals = Figures
dashboard-by_district = By district
dashboard-trend = Monthly trend (applications)
dashboard-overdue_deadlines = Overdue deadlines
dashboard-upcoming_deadlines = Upcoming deadlines
dashboard-register_no = Register no.
dashboard-stage = Stage
dashboard-next_due_on = Next due
dashboard-office = Office
dashboard-case = Case
dashboard-deadline = Deadline
dashboard-due_on = Due
dashboard-suppressed = suppressed
