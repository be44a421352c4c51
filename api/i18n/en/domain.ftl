# Labels of the domain's codes (English; Ukrainian is the primary language).
# Keys: stage-<code>, status-<code>, role-<code>, action-<action name>, deadline-<kind>,
# event-<type>, field-<path with dots as hyphens>, enum-<type>-<value>, figure-<name>,
# purpose-<code>. API problem titles: problems.ftl.

## Stages

stage-registered = Application registered
stage-interview_done = Interview done
stage-verification = Verification
stage-submitted = File submitted for decision
stage-returned = File returned for completion
stage-decided = Decided
stage-appeal = Appeal in court
stage-closed = Closed

## The person's status

status-pending = Pending
status-granted = Status granted
status-refused = Status refused
status-withdrawn = Application withdrawn
status-expired = Status expired

## Roles

role-caseworker = Responsible official
role-supervisor = Head of unit
role-social_worker = Social services specialist
role-decision_officer = Officer of the deciding authority
role-auditor = Auditor
role-admin = System administrator
role-system = System

## Actions

action-register = Register the application
action-record-consent = Record consent
action-withdraw-consent = Record withdrawal of consent
action-record-interview = Record the interview
action-skip-interview = Record why there is no interview
action-request-verification = Send a verification request
action-record-verification-reply = Record a verification reply
action-attach-document = Attach a document
action-explain-missing-identity-document = Explain the missing identity document
action-submit-file = Submit the file for decision
action-return-file = Return the file for completion
action-record-decision = Record the decision
action-hand-over-decision = Record the hand-over of the decision
action-record-appeal = Record an appeal in court
action-record-court-ruling = Record the court ruling
action-extend-status = Extend the status
action-withdraw = Record withdrawal of the application
action-transfer = Transfer the case to another office
action-refer-to-social-services = Refer to the centre of social services
action-record-needs-assessment = Record the needs assessment
action-approve-rehabilitation-plan = Approve the rehabilitation plan
action-record-service = Record a service delivered
action-place-in-shelter = Place in temporary accommodation
action-extend-shelter = Extend temporary accommodation
action-end-shelter-stay = Record the end of temporary accommodation
action-request-payment = Record an application for one-time assistance
action-record-payment = Record the one-time assistance payment
action-assign = Assign a responsible official
action-add-note = Add a note
action-correct-entry = Correct an entry
action-erase-personal-data = Erase personal data
action-record-missed-deadline = Record a missed deadline
action-record-status-expiry = Record the expiry of the status
action-hand-over-to-successor = Hand the file to the successor authority

## Deadlines (by kind)

deadline-interview = Interview
deadline-verification_reply = Reply to a verification request
deadline-file_submission = Submission of the file
deadline-decision = Decision
deadline-overall = Whole procedure
deadline-needs_assessment = Needs assessment
deadline-rehabilitation_plan = Rehabilitation plan
deadline-payment = One-time assistance payment
deadline-shelter = Temporary accommodation

## History events

event-application_registered = The application was registered
event-consent_given = Consent was given
event-consent_withdrawn = Consent was withdrawn
event-interview_recorded = The interview took place
event-interview_skipped = The interview was not held, on a lawful ground
event-verification_requested = A verification request was sent
event-verification_reply_recorded = A reply to a verification request was received
event-document_attached = A document was attached
event-identity_document_absence_explained = The absence of an identity document was explained
event-file_submitted = The file was submitted to the deciding authority
event-file_returned = The file was returned for completion
event-status_granted = The status was granted
event-status_refused = The status was refused
event-decision_handed_over = The decision was handed to the person
event-appeal_filed = The decision was appealed in court
event-court_ruling_recorded = The court ruling was recorded
event-status_extended = The status was extended
event-status_expired = The status expired
event-application_withdrawn = The application was withdrawn
event-referred_to_social_services = The person was referred to the centre of social services
event-needs_assessed = The needs were assessed
event-rehabilitation_plan_approved = The rehabilitation plan was approved
event-service_recorded = A service was delivered
event-placed_in_shelter = The person was placed in temporary accommodation
event-shelter_extended = Temporary accommodation was extended
event-shelter_stay_ended = Temporary accommodation ended
event-payment_requested = One-time assistance was applied for
event-payment_recorded = One-time assistance was paid
event-assigned = A responsible official was assigned
event-transferred = The case was transferred to another office
event-note_added = A note was added
event-entry_corrected = An entry was corrected
event-personal_data_erased = The personal data was erased
event-deadline_missed = A deadline was missed
event-file_handed_to_successor = The file was handed to the successor authority

## Fields

field-allowed_actions = Allowed actions
field-amount_kopiyky = Amount, kopiyky
field-applicant = Applicant
field-assignee = Responsible official
field-assistance = Assistance
field-birth_date = Date of birth
field-birth_year = Year of birth
field-by_referral_source = By referral source
field-calendar = Calendar
field-case_id = Case
field-category = Ground for erasure
field-centre = Centre of social services
field-certificate_no = Certificate number
field-child = Child
field-citizenship = Citizenship
field-citizenship_country = Country of citizenship
field-code = Code
field-conclusion = Conclusion
field-consent_signed_by = Consent signed by
field-contacts = Contact details
field-corrected_on = Corrected on
field-corrections = Corrections
field-country = Country
field-data = Data
field-date = Date
field-days = Days
field-days_left = Days left
field-deadline = Deadline
field-deadlines = Deadlines
field-deciding_authority = Deciding authority
field-definition = Procedure version
field-description = Description
field-documents = Documents
field-due_on = Due date
field-effective_from = In force from
field-effective_to = In force until
field-ended_on = Ended on
field-exploitation = Exploitation
field-extensions = Extensions
field-field = Field
field-file = File
field-filed_by = Filed by
field-forms = Forms of exploitation
field-from = Start date
field-full_name = Full name
field-fulfilled_on = Fulfilled on
field-given_by = Consent signed by
field-ground = Ground
field-grounds = Grounds for refusal
field-holidays_not_observed = Holidays that are not days off
field-id = Identifier
field-id_document = Identity document
field-id_document_missing_reason = Why there is no identity document
field-interpreter_used = An interpreter was used
field-kind = Kind
field-length = Length
field-mark = Source of the value
field-missing = What is missing
field-name = Name
field-needs = Needs
field-needs_assessment = Needs assessment
field-non_disclosure_receipt_signed = Non-disclosure receipt signed
field-non_working_days = Non-working days
field-note = Note
field-occurred_on = Date
field-office = Office
field-on = Date
field-organisation = Organisation
field-original_on = Previous date
field-outcome = Outcome
field-overdue = Overdue
field-paid_on = Paid on
field-payment = One-time assistance
field-person = Person
field-personal_data_erased = Personal data erased
field-plan = Rehabilitation plan
field-procedure = Procedure version
field-provider = Provider
field-reason = Reason
field-received_on = Date received
field-recorded_at = Recorded at
field-reference = Document reference
field-referral = Referral
field-referred_on = Referred on
field-referred_to = Referred to
field-register_no = Register number
field-reply = Reply
field-request_id = Request
field-requested_on = Applied on
field-rights_explained = The person was told of their rights and the help available
field-role = Role
field-roll_to_working_day = Moved to the next working day
field-rolling = Moving to a working day
field-rule = Rule
field-scope = Consent for
field-sent_on = Sent on
field-sequence = Entry number
field-service = Service
field-services = Services
field-sex = Sex
field-sha256 = SHA-256 checksum
field-shelter = Temporary accommodation
field-since = Since
field-source = Source
field-sources = Sources
field-speaks_ukrainian_or_russian = Speaks Ukrainian or Russian
field-stage = Stage
field-start = Counted from
field-starts_at = Starts at
field-state = State
field-status = Status
field-status_extension_max = Longest status extension
field-status_validity = Status validity
field-submitted_to = Submitted to
field-supersedes = Corrected entry
field-suspended_while = Suspended while
field-text = Text
field-title = Title
field-to = Addressee
field-to_office = Transferred to
field-unit = Unit
field-until = Until
field-upcoming = Due soon
field-valid_until = Valid until
field-value = New value
field-verification_requests = Verification requests
field-version = Version
field-worked_weekend_days = Weekend days that are working days
field-written_consent = The person's written consent
field-year = Year
field-applicant-citizenship = Applicant's citizenship
field-applicant-sex = Applicant's sex
field-person-full_name = Full name
field-referral-source = Referred by
field-referral-organisation = Referring organisation
field-exploitation-country = Country of exploitation
field-documents-kind = Kind of document
field-documents-note = Description of the document
field-deadlines-kind = Kind of deadline
field-deadlines-name = Deadline
field-deadlines-state = State of the deadline
field-non_working_days-kind = Kind of day
field-services-from = Start date
field-services-to = End date
field-services-service = Service
field-shelter-since = Placed on
field-shelter-until = Accommodated until
field-status_validity-length = Length
field-corrections-field = Corrected field
field-corrections-reason = Reason for the correction
field-verification_requests-to = Addressee

## Enumerations

enum-deadline_state-open = Running
enum-deadline_state-met = Met
enum-deadline_state-missed = Missed
enum-deadline_state-suspended = Suspended
enum-deadline_state-cancelled = Cancelled

enum-day_kind-calendar = Calendar days
enum-day_kind-working = Working days

enum-day_kind_body-weekend = Weekend day
enum-day_kind_body-holiday = Public holiday
enum-day_kind_body-day_off = Day off (transfer)

enum-unit-days = Days
enum-unit-months = Months

enum-mark-law = Set by law
enum-mark-default = Assumed value (to be confirmed)

enum-suspend_condition-file_returned = The file is back for completion
enum-suspend_condition-appeal_pending = An appeal is pending in court
enum-suspend_condition-verification_pending = A verification reply is awaited

enum-filed_by-self = The person
enum-filed_by-legal_representative = Legal representative
enum-filed_by-person_aware_of_child = A person who learned of the child

enum-sex-female = Female
enum-sex-male = Male
enum-sex-unknown = Not stated

enum-citizenship-ukrainian = Ukrainian citizen
enum-citizenship-foreign = Foreign citizen
enum-citizenship-stateless = Stateless person

enum-referral_source-hotline = Hotline
enum-referral_source-police = National Police
enum-referral_source-ngo = Non-governmental organisation
enum-referral_source-mdg = Multidisciplinary group
enum-referral_source-self = Came on their own
enum-referral_source-consulate = Consulate
enum-referral_source-border_guard = State Border Guard Service
enum-referral_source-school = School
enum-referral_source-other = Other

enum-exploitation_form-sexual = Sexual exploitation
enum-exploitation_form-labour = Labour exploitation
enum-exploitation_form-begging = Forced begging
enum-exploitation_form-criminal_activity = Forced criminal activity
enum-exploitation_form-armed_conflict = Use in armed conflict
enum-exploitation_form-organ_removal = Organ removal
enum-exploitation_form-adoption = Illegal adoption for profit
enum-exploitation_form-servitude = Servitude
enum-exploitation_form-other = Other form of exploitation

enum-consent_scope-status_procedure = Taking part in the status procedure
enum-consent_scope-share_with_police = Sharing information with the National Police
enum-consent_scope-share_with_social_services = Sharing information with the centre of social services
enum-consent_scope-share_with_ngos = Sharing information with NGOs

enum-given_by-person = The person
enum-given_by-legal_representative = Legal representative

enum-skip_ground-already_recognised = Already recognised as a victim by law enforcement, a court or the destination country
enum-skip_ground-impossible_mental_state = Impossible because of the person's mental state
enum-skip_ground-impossible_young_age = Impossible because of young age

enum-erasure_category-retention_ended = The retention period ended
enum-erasure_category-person_request = Request of the person or their legal representative
enum-erasure_category-consent_withdrawn = Consent to the processing was withdrawn
enum-erasure_category-order = Order of a court or of the Ombudsman
enum-erasure_category-other = Another lawful ground

enum-verification_target-national_police = Territorial body of the National Police
enum-verification_target-migration_service = State Migration Service
enum-verification_target-border_guard = State Border Guard Service
enum-verification_target-consulate = Consulate
enum-verification_target-medical = Medical institution
enum-verification_target-other = Other

enum-reply_outcome-confirms = Confirms
enum-reply_outcome-does_not_confirm = Does not confirm
enum-reply_outcome-inconclusive = Inconclusive

enum-document_kind-application = Application
enum-document_kind-identity_document = Copy of an identity document
enum-document_kind-travel_document = Travel document
enum-document_kind-medical_conclusion = Medical conclusion
enum-document_kind-questionnaire = Questionnaire
enum-document_kind-registration_card = Registration card
enum-document_kind-other = Other document

enum-conclusion-recommend_grant = Conclusion: grant the status
enum-conclusion-recommend_refuse = Conclusion: refuse the status

enum-decision_outcome-granted = Grant the status
enum-decision_outcome-refused = Refuse the status

enum-ruling_outcome-upheld = The refusal stands
enum-ruling_outcome-annulled_status_established = Refusal annulled; the status is to be established
enum-ruling_outcome-annulled_new_decision = Refusal annulled; a new decision is to be taken

enum-need-shelter = Temporary accommodation
enum-need-medical = Medical care
enum-need-psychological = Psychological help
enum-need-social = Social services
enum-need-legal_aid = Legal aid
enum-need-employment = Help with employment
enum-need-education = Help with education
enum-need-documents = Restoring documents
enum-need-payment = One-time assistance
enum-need-other = Other

enum-prior_step-registration = Registration of the application
enum-prior_step-interview = Interview
enum-prior_step-verification_request = Verification request
enum-prior_step-verification_reply = Verification reply
enum-prior_step-file_returned = Return of the file
enum-prior_step-file_received = Receipt of the file
enum-prior_step-decision = Decision
enum-prior_step-appeal = Appeal
enum-prior_step-consent = Consent
enum-prior_step-social_services_referral = Referral to the centre of social services
enum-prior_step-needs_assessment = Needs assessment
enum-prior_step-shelter_placement = Placement in temporary accommodation
enum-prior_step-payment_request = Application for one-time assistance

## Statistics figures

figure-applications = Applications
figure-children = Children
figure-foreigners = Foreigners and stateless persons
figure-by_referral_source = By referral source
figure-interviews = Interviews
figure-files_submitted = Files submitted
figure-files_returned = Files returned
figure-granted = Statuses granted
figure-refused = Refused
figure-certificates_handed_over = Certificates handed over
figure-needs_assessments = Needs assessments
figure-rehabilitation_plans = Rehabilitation plans
figure-shelter_placements = Shelter placements
figure-payments = Payments
figure-deadlines_missed = Deadlines missed
figure-median_days_to_decision = Median days to decision
figure-pending_decision = Pending at the deciding authority
figure-open_cases = Open cases
figure-overdue = Overdue
figure-suppressed = Suppressed (small number)

## Purposes of reading personal data (a proposal; the case page defines the list)

purpose-case_work = Work on the case
purpose-verification = Verification
purpose-assistance = Assistance
purpose-documents = Preparing documents
purpose-person_request = The person's request
purpose-audit = Audit

## Counts (plural forms)

count-days = { $count ->
    [one] { $count } day
   *[other] { $count } days
}
count-working-days = { $count ->
    [one] { $count } working day
   *[other] { $count } working days
}
count-calendar-days = { $count ->
    [one] { $count } calendar day
   *[other] { $count } calendar days
}
count-months = { $count ->
    [one] { $count } month
   *[other] { $count } months
}
count-days-left = { $count ->
    [0] Last day today
    [one] { $count } day left
   *[other] { $count } days left
}
count-days-overdue = { $count ->
    [one] { $count } day overdue
   *[other] { $count } days overdue
}
count-cases = { $count ->
    [one] { $count } case
   *[other] { $count } cases
}

# Titles of the procedure definitions shipped with the engine (procedure-title-<id>); a definition
# an administrator added is shown with the title in its file.
procedure-title-ua-417-2012 = Resolution 417 (2012): the Ministry of Social Policy decides
procedure-title-ua-417-2021 = Resolution 417 as amended by 531/2021: the National Social Service decides
