# The web pages' own texts (English).
web-product = PTL status procedure
web-skip-to-content = Skip to content
web-nav-label = Sections
web-nav-queue = Work queue
web-nav-register = New application
web-nav-person-search = Person search
web-nav-inbox = Files for decision
web-nav-social = Social work
web-nav-dashboard = Figures
web-nav-admin = Administration
web-sign-out = Sign out
web-footer = The data of people who suffered from human trafficking is confidential. Every read is recorded.
web-idle-warning = Your session will end soon for inactivity. Save your work or open another page to continue.
web-sign-in-title = Sign in
web-sign-in = Sign in
web-sign-in-sso = Sign in with your organisation's single sign-on
web-login = Login
web-password = Password
web-sign-in-failed = Wrong login or password.
web-sign-in-locked = Too many failed attempts: signing in with this login is locked for 15 minutes.
web-sign-in-address-locked = Too many failed attempts from this address: signing in from it is locked for 15 minutes.
web-signed-out = You have signed out.
web-form-expired = The form is out of date or did not come from this session. Open the page again and repeat.
web-unavailable = The data store is unavailable right now. Try again in a minute.
web-refused-title = Refused
web-back-home = Home
web-password-title = Change password
web-password-must-change = You signed in with a one-time password. Choose your own password to continue.
web-password-current = Current password
web-password-new = New password
web-password-rules = At least 12 characters; common passwords are not accepted.
web-password-save = Change password
web-password-current-wrong = The current password is wrong.
web-password-too-short = The password must be at least 12 characters long.
web-password-common = This password is one of the most common ones. Choose another.
web-password-same = The new password must differ from the current one.
web-undertaking-title = Confidentiality undertaking
web-undertaking-accept = I have read this and undertake to comply
web-undertaking-text =
    I, a user of this system, undertake not to disclose information about the people who applied for the status of a person who suffered from human trafficking, nor about their cases, that I learn in the course of my duties.

    I will use personal data only for the status procedure and the assistance, open it only when my work needs it, and state the purpose each time. Every access to personal data is recorded in the access log.

    I know that disclosing this information carries the liability the law provides, in particular under the Law of Ukraine "On Personal Data Protection" and the Law of Ukraine "On Countering Trafficking in Human Beings".
web-not-found-title = Page not found
web-not-found = There is no such page.
web-nav-security-log = Security log
