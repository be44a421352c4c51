web-admin-title = Адміністрування
web-admin-only = Ця сторінка доступна лише адміністраторам.
web-admin-accounts = Облікові записи
web-admin-name = Ім'я
web-admin-role = Роль
web-admin-office = Установа
web-admin-state = Стан
web-admin-actions = Дії
web-admin-state-active = активний
web-admin-state-one-time = одноразовий пароль
web-admin-state-disabled = вимкнений
web-admin-enable = Увімкнути
web-admin-disable = Вимкнути
web-admin-confirm-disable = Вимкнути цей обліковий запис? Його сеанси завершаться.
web-admin-reset-password = Новий одноразовий пароль
web-admin-change-role = Змінити роль або установу
web-admin-save = Зберегти
web-admin-add = Новий обліковий запис
web-admin-add-button = Створити обліковий запис
web-admin-login-help = Від 2 до 64 символів: латинські літери, цифри, «.», «-», «_» та «@».
web-admin-office-help = Роль має відповідати установі: працівники районних і обласних адміністрацій, посадові особи органу, що приймає рішення, аудитори — будь-яка установа, адміністратори — рівень країни.
web-admin-added = Обліковий запис { $login } створено.
web-admin-one-time = Одноразовий пароль: { $password } (передайте його користувачеві; під час першого входу його треба змінити).
web-admin-disabled = Обліковий запис { $login } вимкнено; його сеанси завершено.
web-admin-enabled = Обліковий запис { $login } увімкнено.
web-admin-reset = Для { $login } створено новий одноразовий пароль; його сеанси завершено.
web-admin-role-changed = Роль і установу { $login } змінено; його сеанси завершено.
web-admin-no-such-user = Такого облікового запису немає.
web-admin-not-yourself = Власний обліковий запис вимкнути не можна.
web-admin-offices = Структура установ
web-admin-kind = Вид
web-admin-kind-national = державний рівень
web-admin-kind-authority = орган, що приймає рішення
web-admin-kind-region = обласна адміністрація
web-admin-kind-district = районна адміністрація
web-admin-closed-col = Припинено
web-admin-closed = з { $date }
web-admin-procedures = Порядки (визначення процедури)
web-admin-effective = Діє
web-admin-from = з { $date }
web-admin-authority = Орган, що приймає рішення
web-admin-sources = Джерела
web-admin-deadlines = Строки
web-admin-deadline = Строк
web-admin-length = Тривалість
web-admin-starts = Початок відліку
web-admin-mark = Підстава
web-admin-mark-law = закон
web-admin-mark-default = [за замовчуванням] — може змінити адміністратор
web-admin-length-days-calendar = { $n ->
    [one] { $n } календарний день
    [few] { $n } календарні дні
   *[other] { $n } календарних днів
}
web-admin-length-days-working = { $n ->
    [one] { $n } робочий день
    [few] { $n } робочі дні
   *[other] { $n } робочих днів
}
web-admin-length-months-calendar = { $n ->
    [one] { $n } місяць
    [few] { $n } місяці
   *[other] { $n } місяців
}
web-admin-length-months-working = { $n ->
    [one] { $n } місяць
    [few] { $n } місяці
   *[other] { $n } місяців
}
