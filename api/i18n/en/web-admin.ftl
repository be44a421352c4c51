web-admin-title = Administration
web-admin-only = This page is for administrators only.
web-admin-accounts = Accounts
web-admin-name = Name
web-admin-role = Role
web-admin-office = Office
web-admin-state = State
web-admin-actions = Actions
web-admin-state-active = active
web-admin-state-one-time = one-time password
web-admin-state-disabled = disabled
web-admin-enable = Enable
web-admin-disable = Disable
web-admin-confirm-disable = Disable this account? Its sessions will end.
web-admin-reset-password = New one-time password
web-admin-change-role = Change role or office
web-admin-save = Save
web-admin-add = New account
web-admin-add-button = Create account
web-admin-login-help = 2 to 64 characters: Latin letters, digits, ".", "-", "_" and "@".
web-admin-office-help = The role must fit the office: staff of district and regional administrations, officers of a deciding authority; auditors any office; administrators the national level.
web-admin-added = Account { $login } created.
web-admin-one-time = One-time password: { $password } (give it to the user; it must be changed at the first sign-in).
web-admin-disabled = Account { $login } disabled; its sessions have ended.
web-admin-enabled = Account { $login } enabled.
web-admin-reset = A new one-time password was made for { $login }; its sessions have ended.
web-admin-role-changed = The role and office of { $login } changed; its sessions have ended.
web-admin-no-such-user = There is no such account.
web-admin-not-yourself = You cannot disable your own account.
web-admin-offices = Office tree
web-admin-kind = Kind
web-admin-kind-national = national level
web-admin-kind-authority = deciding authority
web-admin-kind-region = regional administration
web-admin-kind-district = district administration
web-admin-closed-col = Closed
web-admin-closed = since { $date }
web-admin-procedures = Procedure definitions
web-admin-effective = In force
web-admin-from = from { $date }
web-admin-authority = Deciding authority
web-admin-sources = Sources
web-admin-deadlines = Deadlines
web-admin-deadline = Deadline
web-admin-length = Length
web-admin-starts = Counted from
web-admin-mark = Basis
web-admin-mark-law = law
web-admin-mark-default = [default] — an administrator may change it
web-admin-length-days-calendar = { $n ->
    [one] { $n } calendar day
   *[other] { $n } calendar days
}
web-admin-length-days-working = { $n ->
    [one] { $n } working day
   *[other] { $n } working days
}
web-admin-length-months-calendar = { $n ->
    [one] { $n } month
   *[other] { $n } months
}
web-admin-length-months-working = { $n ->
    [one] { $n } month
   *[other] { $n } months
}
