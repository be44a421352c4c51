# Тексти сторінки /dashboard (показники для користувачів API).

dashboard-title = ПТЛ: статус особи, яка постраждала від торгівлі людьми
dashboard-logout = Вийти
dashboard-login = Вхід
dashboard-open = Відкрити
dashboard-totals = Показники
dashboard-by_district = За районами
dashboard-trend = Динаміка за місяцями (заяви)
dashboard-overdue_deadlines = Прострочені строки
dashboard-upcoming_deadlines = Найближчі строки
dashboard-register_no = Реєстр. №
dashboard-stage = Етап
dashboard-next_due_on = Найближчий строк
dashboard-office = Установа
dashboard-case = Справа
dashboard-deadline = Строк
dashboard-due_on = Дата
dashboard-suppressed = приховано
