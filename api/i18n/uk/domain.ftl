# Назви кодів предметної області (українською, основна мова).
# Порядок встановлення статусу особи, яка постраждала від торгівлі людьми
# (постанова КМУ № 417 від 23.05.2012), постанови № 783 і № 660, накази Мінсоцполітики № 366 і № 578.
# Ключі: stage-<код>, status-<код>, role-<код>, action-<назва дії>, deadline-<вид строку>,
# event-<тип події>, field-<шлях поля, крапки замінено на дефіс>, enum-<тип>-<значення>,
# figure-<показник>, purpose-<мета>. Тексти помилок API: problems.ftl.

## Етапи справи

stage-registered = Заяву зареєстровано
stage-interview_done = Співбесіду проведено
stage-verification = Перевірка відомостей
stage-submitted = Справу подано на розгляд
stage-returned = Справу повернуто на доопрацювання
stage-decided = Рішення прийнято
stage-appeal = Оскарження в суді
stage-closed = Справу закрито

## Статус особи

status-pending = Розглядається
status-granted = Статус встановлено
status-refused = Відмовлено у встановленні статусу
status-withdrawn = Заяву відкликано
status-expired = Строк дії статусу закінчився

## Ролі

role-caseworker = Відповідальна особа структурного підрозділу
role-supervisor = Керівник структурного підрозділу
role-social_worker = Фахівець центру соціальних служб
role-decision_officer = Посадова особа органу, що приймає рішення
role-auditor = Аудитор
role-admin = Адміністратор системи
role-system = Система

## Дії

action-register = Зареєструвати заяву
action-record-consent = Зафіксувати згоду
action-withdraw-consent = Зафіксувати відкликання згоди
action-record-interview = Зафіксувати проведення співбесіди
action-skip-interview = Зафіксувати підставу непроведення співбесіди
action-request-verification = Надіслати запит для перевірки відомостей
action-record-verification-reply = Зафіксувати відповідь на запит
action-attach-document = Додати документ
action-explain-missing-identity-document = Зазначити причину відсутності документа, що посвідчує особу
action-submit-file = Подати справу на розгляд
action-return-file = Повернути справу на доопрацювання
action-record-decision = Зафіксувати рішення
action-hand-over-decision = Зафіксувати вручення рішення особі
action-record-appeal = Зафіксувати оскарження рішення в суді
action-record-court-ruling = Зафіксувати рішення суду
action-extend-status = Продовжити строк дії статусу
action-withdraw = Зафіксувати відкликання заяви
action-transfer = Передати справу іншій установі
action-refer-to-social-services = Направити до центру соціальних служб
action-record-needs-assessment = Зафіксувати оцінку потреб
action-approve-rehabilitation-plan = Затвердити план реабілітації
action-record-service = Зафіксувати надану послугу
action-place-in-shelter = Влаштувати до закладу тимчасового перебування
action-extend-shelter = Продовжити тимчасове перебування
action-end-shelter-stay = Зафіксувати завершення тимчасового перебування
action-request-payment = Зафіксувати заяву про одноразову матеріальну допомогу
action-record-payment = Зафіксувати виплату одноразової матеріальної допомоги
action-assign = Призначити відповідальну особу
action-add-note = Додати примітку
action-correct-entry = Виправити запис
action-erase-personal-data = Знищити персональні дані
action-record-missed-deadline = Зафіксувати пропущений строк
action-record-status-expiry = Зафіксувати закінчення строку дії статусу
action-hand-over-to-successor = Передати справу органу-правонаступнику

## Строки (за видом)

deadline-interview = Проведення співбесіди
deadline-verification_reply = Відповідь на запит для перевірки
deadline-file_submission = Подання справи на розгляд
deadline-decision = Прийняття рішення
deadline-overall = Загальний строк процедури
deadline-needs_assessment = Оцінка потреб
deadline-rehabilitation_plan = Складення плану реабілітації
deadline-payment = Виплата одноразової матеріальної допомоги
deadline-shelter = Тимчасове перебування

## Події історії справи

event-application_registered = Заяву зареєстровано
event-consent_given = Надано згоду
event-consent_withdrawn = Згоду відкликано
event-interview_recorded = Проведено співбесіду
event-interview_skipped = Співбесіду не проведено з передбаченої підстави
event-verification_requested = Надіслано запит для перевірки відомостей
event-verification_reply_recorded = Отримано відповідь на запит
event-document_attached = До справи додано документ
event-identity_document_absence_explained = Зазначено причину відсутності документа, що посвідчує особу
event-file_submitted = Справу подано на розгляд до органу, що приймає рішення
event-file_returned = Справу повернуто на доопрацювання
event-status_granted = Прийнято рішення про встановлення статусу
event-status_refused = Прийнято рішення про відмову у встановленні статусу
event-decision_handed_over = Рішення вручено особі
event-appeal_filed = Рішення оскаржено в суді
event-court_ruling_recorded = Зафіксовано рішення суду
event-status_extended = Строк дії статусу продовжено
event-status_expired = Строк дії статусу закінчився
event-application_withdrawn = Заяву відкликано
event-referred_to_social_services = Особу направлено до центру соціальних служб
event-needs_assessed = Проведено оцінку потреб
event-rehabilitation_plan_approved = Затверджено план реабілітації
event-service_recorded = Надано послугу
event-placed_in_shelter = Особу влаштовано до закладу тимчасового перебування
event-shelter_extended = Тимчасове перебування продовжено
event-shelter_stay_ended = Тимчасове перебування завершено
event-payment_requested = Подано заяву про одноразову матеріальну допомогу
event-payment_recorded = Виплачено одноразову матеріальну допомогу
event-assigned = Призначено відповідальну особу
event-transferred = Справу передано іншій установі
event-note_added = Додано примітку
event-entry_corrected = Виправлено запис
event-personal_data_erased = Персональні дані знищено
event-deadline_missed = Пропущено строк
event-file_handed_to_successor = Справу передано органу-правонаступнику

## Поля (field-<шлях>; спершу повний шлях, потім коротші закінчення, див. i18n.rs)

field-allowed_actions = Доступні дії
field-amount_kopiyky = Сума, коп.
field-applicant = Заявник
field-assignee = Відповідальна особа
field-assistance = Допомога
field-birth_date = Дата народження
field-birth_year = Рік народження
field-by_referral_source = За суб'єктами, що направили
field-calendar = Календар
field-case_id = Справа
field-category = Підстава знищення
field-centre = Центр соціальних служб
field-certificate_no = Номер довідки
field-child = Дитина
field-citizenship = Громадянство
field-citizenship_country = Країна громадянства
field-code = Код
field-conclusion = Висновок
field-consent_signed_by = Згоду підписав
field-contacts = Контактні дані
field-corrected_on = Дата виправлення
field-corrections = Виправлення
field-country = Країна
field-data = Дані
field-date = Дата
field-days = Дні
field-days_left = Залишилося днів
field-deadline = Строк
field-deadlines = Строки
field-deciding_authority = Орган, що приймає рішення
field-definition = Редакція порядку
field-description = Опис
field-documents = Документи
field-due_on = Дата закінчення строку
field-effective_from = Діє з
field-effective_to = Діє до
field-ended_on = Дата завершення
field-exploitation = Експлуатація
field-extensions = Продовження
field-field = Поле
field-file = Справа
field-filed_by = Хто подав заяву
field-forms = Форми експлуатації
field-from = Дата початку
field-full_name = Прізвище, ім'я, по батькові
field-fulfilled_on = Дата виконання
field-given_by = Хто підписав згоду
field-ground = Підстава
field-grounds = Підстави відмови
field-holidays_not_observed = Святкові дні, що не є вихідними
field-id = Ідентифікатор
field-id_document = Документ, що посвідчує особу
field-id_document_missing_reason = Причина відсутності документа, що посвідчує особу
field-interpreter_used = Із залученням перекладача
field-kind = Вид
field-length = Тривалість
field-mark = Підстава значення
field-missing = Чого бракує
field-name = Назва
field-needs = Потреби
field-needs_assessment = Оцінка потреб
field-non_disclosure_receipt_signed = Розписку про нерозголошення підписано
field-non_working_days = Неробочі дні
field-note = Примітка
field-occurred_on = Дата
field-office = Установа
field-on = Дата
field-organisation = Організація
field-original_on = Попередня дата
field-outcome = Результат
field-overdue = Прострочено
field-paid_on = Дата виплати
field-payment = Одноразова матеріальна допомога
field-person = Особа
field-personal_data_erased = Персональні дані знищено
field-plan = План реабілітації
field-procedure = Редакція порядку
field-provider = Виконавець
field-reason = Причина
field-received_on = Дата надходження заяви
field-recorded_at = Час запису
field-reference = Реквізити документа
field-referral = Направлення
field-referred_on = Дата направлення
field-referred_to = Направлено до
field-register_no = Реєстраційний номер
field-reply = Відповідь
field-request_id = Запит
field-requested_on = Дата звернення
field-rights_explained = Особі роз'яснено її права та доступну допомогу
field-role = Роль
field-roll_to_working_day = Перенесення на наступний робочий день
field-rolling = Перенесення на робочий день
field-rule = Правило
field-scope = Предмет згоди
field-sent_on = Дата надсилання
field-sequence = Порядковий номер запису
field-service = Послуга
field-services = Послуги
field-sex = Стать
field-sha256 = Контрольна сума SHA-256
field-shelter = Заклад тимчасового перебування
field-since = З
field-source = Джерело
field-sources = Джерела
field-speaks_ukrainian_or_russian = Володіє українською або російською мовою
field-stage = Етап
field-start = Початок відліку
field-starts_at = Відлік від
field-state = Стан
field-status = Статус
field-status_extension_max = Найбільше продовження статусу
field-status_validity = Строк дії статусу
field-submitted_to = Орган, до якого подано справу
field-supersedes = Виправлений запис
field-suspended_while = Зупиняється, поки
field-text = Текст
field-title = Назва
field-to = Адресат запиту
field-to_office = Установа, до якої передано справу
field-unit = Одиниця
field-until = До
field-upcoming = Незабаром
field-valid_until = Діє до
field-value = Нове значення
field-verification_requests = Запити для перевірки
field-version = Версія
field-worked_weekend_days = Вихідні дні, що є робочими
field-written_consent = Письмова згода особи
field-year = Рік
# Уточнення для вкладених полів.
field-applicant-citizenship = Громадянство заявника
field-applicant-sex = Стать заявника
field-person-full_name = Прізвище, ім'я, по батькові
field-referral-source = Хто направив особу
field-referral-organisation = Організація, що направила особу
field-exploitation-country = Країна, де відбувалася експлуатація
field-documents-kind = Вид документа
field-documents-note = Опис документа
field-deadlines-kind = Вид строку
field-deadlines-name = Строк
field-deadlines-state = Стан строку
field-non_working_days-kind = Вид дня
field-services-from = Дата початку
field-services-to = Дата завершення
field-services-service = Послуга
field-shelter-since = Дата влаштування
field-shelter-until = Перебування до
field-status_validity-length = Тривалість
field-corrections-field = Виправлене поле
field-corrections-reason = Причина виправлення
field-verification_requests-to = Адресат запиту

## Значення переліків (enum-<тип>-<значення>; тип — назва схеми OpenAPI у snake_case)

enum-deadline_state-open = Триває
enum-deadline_state-met = Дотримано
enum-deadline_state-missed = Пропущено
enum-deadline_state-suspended = Зупинено
enum-deadline_state-cancelled = Скасовано

enum-day_kind-calendar = Календарні дні
enum-day_kind-working = Робочі дні

enum-day_kind_body-weekend = Вихідний день
enum-day_kind_body-holiday = Святковий день
enum-day_kind_body-day_off = Неробочий день (перенесення)

enum-unit-days = Дні
enum-unit-months = Місяці

enum-mark-law = Визначено законодавством
enum-mark-default = Прийняте значення (потребує підтвердження)

enum-suspend_condition-file_returned = Справа на доопрацюванні
enum-suspend_condition-appeal_pending = Триває оскарження в суді
enum-suspend_condition-verification_pending = Очікується відповідь на запит

enum-filed_by-self = Особа особисто
enum-filed_by-legal_representative = Законний представник
enum-filed_by-person_aware_of_child = Особа, якій стало відомо про дитину

enum-sex-female = Жіноча
enum-sex-male = Чоловіча
enum-sex-unknown = Не зазначено

enum-citizenship-ukrainian = Громадянин України
enum-citizenship-foreign = Іноземець
enum-citizenship-stateless = Особа без громадянства

enum-referral_source-hotline = Гаряча лінія
enum-referral_source-police = Національна поліція
enum-referral_source-ngo = Громадська організація
enum-referral_source-mdg = Мультидисциплінарна група
enum-referral_source-self = Звернулася самостійно
enum-referral_source-consulate = Закордонна дипломатична установа
enum-referral_source-border_guard = Державна прикордонна служба
enum-referral_source-school = Заклад освіти
enum-referral_source-other = Інший суб'єкт

enum-exploitation_form-sexual = Сексуальна експлуатація
enum-exploitation_form-labour = Трудова експлуатація
enum-exploitation_form-begging = Втягнення в жебракування
enum-exploitation_form-criminal_activity = Втягнення в злочинну діяльність
enum-exploitation_form-armed_conflict = Використання у збройних конфліктах
enum-exploitation_form-organ_removal = Вилучення органів
enum-exploitation_form-adoption = Незаконне усиновлення (удочеріння) з метою наживи
enum-exploitation_form-servitude = Утримання в підневільному стані
enum-exploitation_form-other = Інша форма експлуатації

enum-consent_scope-status_procedure = Участь у процедурі встановлення статусу
enum-consent_scope-share_with_police = Передання відомостей Національній поліції
enum-consent_scope-share_with_social_services = Передання відомостей центру соціальних служб
enum-consent_scope-share_with_ngos = Передання відомостей громадським організаціям

enum-given_by-person = Особа
enum-given_by-legal_representative = Законний представник

enum-skip_ground-already_recognised = Особу вже визнано постраждалою правоохоронним органом, судом або органом держави призначення
enum-skip_ground-impossible_mental_state = Неможливо через психічний стан особи
enum-skip_ground-impossible_young_age = Неможливо через малолітній вік

enum-erasure_category-retention_ended = Закінчився строк зберігання
enum-erasure_category-person_request = Вимога особи або її законного представника
enum-erasure_category-consent_withdrawn = Відкликано згоду на обробку персональних даних
enum-erasure_category-order = Рішення суду або вимога Уповноваженого Верховної Ради України з прав людини
enum-erasure_category-other = Інша законна підстава

enum-verification_target-national_police = Територіальний орган Національної поліції
enum-verification_target-migration_service = Державна міграційна служба
enum-verification_target-border_guard = Державна прикордонна служба
enum-verification_target-consulate = Закордонна дипломатична установа
enum-verification_target-medical = Заклад охорони здоров'я
enum-verification_target-other = Інший суб'єкт

enum-reply_outcome-confirms = Підтверджує відомості
enum-reply_outcome-does_not_confirm = Не підтверджує відомості
enum-reply_outcome-inconclusive = Не дає змоги дійти висновку

enum-document_kind-application = Заява
enum-document_kind-identity_document = Копія документа, що посвідчує особу
enum-document_kind-travel_document = Проїзний документ
enum-document_kind-medical_conclusion = Медичний висновок
enum-document_kind-questionnaire = Анкета
enum-document_kind-registration_card = Облікова картка
enum-document_kind-other = Інший документ

enum-conclusion-recommend_grant = Висновок про встановлення статусу
enum-conclusion-recommend_refuse = Висновок про відмову у встановленні статусу

enum-decision_outcome-granted = Встановити статус
enum-decision_outcome-refused = Відмовити у встановленні статусу

enum-ruling_outcome-upheld = Відмову залишено без змін
enum-ruling_outcome-annulled_status_established = Відмову скасовано; суд зобов'язав встановити статус
enum-ruling_outcome-annulled_new_decision = Відмову скасовано; суд зобов'язав прийняти рішення повторно

enum-need-shelter = Тимчасове розміщення
enum-need-medical = Медична допомога
enum-need-psychological = Психологічна допомога
enum-need-social = Соціальні послуги
enum-need-legal_aid = Правова допомога
enum-need-employment = Сприяння у працевлаштуванні
enum-need-education = Сприяння у здобутті освіти
enum-need-documents = Відновлення документів
enum-need-payment = Одноразова матеріальна допомога
enum-need-other = Інше

enum-prior_step-registration = Реєстрація заяви
enum-prior_step-interview = Співбесіда
enum-prior_step-verification_request = Запит для перевірки
enum-prior_step-verification_reply = Відповідь на запит
enum-prior_step-file_returned = Повернення справи на доопрацювання
enum-prior_step-file_received = Надходження справи
enum-prior_step-decision = Рішення
enum-prior_step-appeal = Оскарження в суді
enum-prior_step-consent = Згода
enum-prior_step-social_services_referral = Направлення до центру соціальних служб
enum-prior_step-needs_assessment = Оцінка потреб
enum-prior_step-shelter_placement = Влаштування до закладу тимчасового перебування
enum-prior_step-payment_request = Заява про одноразову матеріальну допомогу

## Показники статистики

figure-applications = Заяви
figure-children = Діти
figure-foreigners = Іноземці та особи без громадянства
figure-by_referral_source = За суб'єктами, що направили
figure-interviews = Співбесіди
figure-files_submitted = Справи подано на розгляд
figure-files_returned = Повернуто на доопрацювання
figure-granted = Статус встановлено
figure-refused = Відмовлено
figure-certificates_handed_over = Довідки вручено
figure-needs_assessments = Оцінки потреб
figure-rehabilitation_plans = Плани реабілітації
figure-shelter_placements = Влаштування до закладів тимчасового перебування
figure-payments = Виплати
figure-deadlines_missed = Пропущені строки
figure-median_days_to_decision = Медіана днів до рішення
figure-pending_decision = Очікують рішення
figure-open_cases = Відкриті справи
figure-overdue = Прострочені
figure-suppressed = Приховано (мале число)

## Мета доступу до персональних даних (пропозиція; перелік визначає сторінка справи)

purpose-case_work = Розгляд справи
purpose-verification = Перевірка відомостей
purpose-assistance = Надання допомоги
purpose-documents = Підготовка документів
purpose-person_request = Звернення особи
purpose-audit = Перевірка (аудит)

## Кількості (плюральні форми)

count-days = { $count ->
    [one] { $count } день
    [few] { $count } дні
   *[many] { $count } днів
}
count-working-days = { $count ->
    [one] { $count } робочий день
    [few] { $count } робочі дні
   *[many] { $count } робочих днів
}
count-calendar-days = { $count ->
    [one] { $count } календарний день
    [few] { $count } календарні дні
   *[many] { $count } календарних днів
}
count-months = { $count ->
    [one] { $count } місяць
    [few] { $count } місяці
   *[many] { $count } місяців
}
count-days-left = { $count ->
    [0] Сьогодні останній день
    [one] Залишився { $count } день
    [few] Залишилося { $count } дні
   *[many] Залишилося { $count } днів
}
count-days-overdue = { $count ->
    [one] Прострочено на { $count } день
    [few] Прострочено на { $count } дні
   *[many] Прострочено на { $count } днів
}
count-cases = { $count ->
    [one] { $count } справа
    [few] { $count } справи
   *[many] { $count } справ
}

# Назви визначень процедури, що постачаються з рушієм (procedure-title-<id>); визначення, яке
# додав адміністратор, показується з назвою з його файлу.
procedure-title-ua-417-2012 = Постанова КМУ № 417 (2012): рішення ухвалює Міністерство соціальної політики
procedure-title-ua-417-2021 = Постанова КМУ № 417 у редакції постанови № 531 (2021): рішення ухвалює Національна соціальна сервісна служба
