"""Wording for linking a Telegram account to a platform email, /whoami, /unlink, invites,
and the verification email itself.

Rules: never say whether an email has a platform account; every refusal says what happened
and when the student can try again; everything a user typed is escaped by the caller.
"""

from __future__ import annotations

from datetime import datetime

# --- /start --------------------------------------------------------------------------------
INTRO = (
    "👋 Hi {name}! I'm the <b>PTL trainer</b>: practise running your Patient Tracking List "
    "from your phone, the same PTL you see on the training platform.\n"
    "Use fictional patients only: never enter a real person's details."
)
ASK_EMAIL = (
    "To link your account, send me the <b>email address you use on the platform</b>. "
    "I'll email you a 6-digit code to prove it's yours."
)
WELCOME_BACK = "👋 Welcome back, {name}! What would you like to do?"
FIRST_MENU = "What would you like to do first, {name}?"
RESUME_CODE = (
    "You're part-way through linking: I asked for a code to be sent to <b>{email}</b>. "
    "Type the 6 digits here, or use the buttons."
)

# --- email problems ---------------------------------------------------------------------
EMAIL_PROBLEMS = {
    "empty": "Please type your platform email address, like <i>sam.jones@example.ac.uk</i>.",
    "spaces": "Email addresses can't contain spaces.",
    "no_at": "That doesn't look like an email address yet: it needs an <b>@</b>, "
    "like <i>sam.jones@example.ac.uk</i>.",
    "many_at": "An email address has exactly one <b>@</b>.",
    "no_local": "Something is missing before the <b>@</b>: your name or username goes there.",
    "no_domain": "Something is missing after the <b>@</b>, like <i>example.ac.uk</i>.",
    "local": "The part before the <b>@</b> has characters an email address can't contain "
    "(or two dots in a row).",
    "domain": "The part after the <b>@</b> should look like <i>example.ac.uk</i> "
    "(letters, digits and dots, no spaces or commas).",
    "non_ascii": "Please type the address exactly as you sign in to the platform, "
    "using plain letters (no accents).",
    "too_long": "That address is longer than an email address can be.",
}
TRY_AGAIN = "Please type it again."
DID_YOU_MEAN = "Did you mean <b>{suggestion}</b>?"
DID_YOU_MEAN_TYPO = "Did you mean <b>{suggestion}</b>? (You typed <i>{typed}</i>.)"
YES_USE_IT = "✅ Yes, use that"
NO_KEEP_TYPED = "✏️ No, keep what I typed"
NO_RETYPE = "✏️ No, I'll retype it"
RETYPE = "OK, please type your platform email address again."
DOMAIN_NOT_ALLOWED = (
    "This bot links platform emails ending in {domains} only. "
    "Please send the address you use on the platform."
)

# --- sending the code ------------------------------------------------------------------
CODE_SENT = (
    "📧 I've asked for a 6-digit code to be sent to <b>{email}</b>. "
    "Type it here; it works for {minutes} minutes.\n"
    "Nothing after a couple of minutes? Check your spam folder, and that this is the address "
    "you use on the platform."
)
SEND_TOO_SOON = (
    "I sent a code less than a minute ago. You can ask for a new one {when}; "
    "meanwhile, check your inbox (and spam) for the last one."
)
SEND_HOURLY_CAP = (
    "That's the most codes I can send in an hour ({cap}). You can ask for another {when}. "
    "The newest code I sent still works until it expires."
)
SEND_EMAIL_CAP = (
    "That address has had the most codes I can send it in an hour ({cap}). You can ask for "
    "another {when}. The newest code sent to it still works until it expires."
)
SEND_PROVIDER_BUSY = "The email service is busy and didn't send a code. Please try again {when}."
SEND_UNAVAILABLE = (
    "I couldn't send an email just now (nothing was used up). Please try again in a few "
    "minutes; if it keeps happening, tell your tutor."
)
SEND_REJECTED = (
    "The mail system wouldn't accept <b>{email}</b> as an address. Please check it and "
    "type your platform email again."
)
BUTTON_RESEND = "🔁 Send a new code"
BUTTON_OTHER_EMAIL = "✏️ Use a different email"
BUTTON_CANCEL = "✖ Cancel"

# --- checking the code ------------------------------------------------------------------
CODE_FORMAT = (
    "The code is the 6 digits in the email, like <code>123456</code>. Type just the digits."
)
CODE_WRONG = "That code didn't work. Check it's from the newest email. {left}"
TRIES_LEFT = {1: "You have 1 try left.", 0: ""}
TRIES_LEFT_MANY = "You have {n} tries left."
CODE_LOCKED = "That's {max} wrong tries, so that code no longer works. {next_step}"
CODE_EXPIRED = "That code has expired: codes work for {minutes} minutes. {next_step}"
CODE_SUPERSEDED = (
    "A newer code has been sent to that address since yours, so yours no longer works. {next_step}"
)
NO_CODE_WAITING = "There's no code waiting for you. {next_step}"
NEXT_STEP_RESEND = "Tap <b>Send a new code</b> to get another."
NEXT_STEP_WAIT = "You can ask for a new code {when}."
CHECK_UNAVAILABLE = (
    "I couldn't check the code just now (nothing was used up). Please send it again in a minute."
)

# --- linked -----------------------------------------------------------------------------
LINKED = (
    "✅ Linked! You're signed in as <b>{email}</b>. Your PTL here is the same one you see on "
    "the platform."
)
TUTOR_WELCOME = (
    "🎓 You're listed as a <b>tutor</b>, so you have the tutor commands too (they're in the "
    "menu next to the text box):\n"
    "/cohort new <i>NAME</i>: create a cohort and get its invite link\n"
    "/cohorts: your cohorts, members and invite links\n"
    "/broadcast: send an exercise to a cohort\n"
    "/progress: who has done each exercise, question by question\n"
    "/students: your students' PTL summaries\n"
    "Everything students do works for you as well, on your own PTL. /help lists it all."
)
WELCOME_BACK_TUTOR = (
    "👋 Welcome back, {name}! You're signed in as a <b>tutor</b>: /cohorts, /broadcast and "
    "/progress are yours; /help lists every command."
)
LINKED_SWITCHED = "(This Telegram account was linked to <b>{old}</b> before.)"
LINKED_ELSEWHERE = (
    "🔐 Your platform email {masked} has just been linked to a different Telegram account, "
    "so this chat is no longer linked and won't get reminders.\n"
    "If that wasn't you, send /start to link it back, and tell your tutor."
)
CANCELLED = "Cancelled: nothing was linked. Send /start whenever you're ready."
STALE_BUTTON = "That step has finished. Send /start to begin again."

# --- /whoami and /unlink ------------------------------------------------------------------
WHOAMI = "You're linked as <b>{email}</b> ({role}), since {since}."
WHOAMI_COHORTS = "Cohorts: {cohorts}."
WHOAMI_NOT_LINKED = (
    "This Telegram account isn't linked yet. Send /start to link your platform email."
)
ROLE_NAMES = {None: "student", "tutor": "tutor", "admin": "admin"}
UNLINK_CONFIRM = (
    "Unlink this Telegram account from <b>{email}</b>? Your PTL stays on the platform; "
    "you can link again any time with /start."
)
UNLINK_YES = "Yes, unlink"
UNLINK_NO = "No, keep it"
UNLINKED = "Done: this Telegram account is no longer linked. Send /start to link again."
UNLINK_KEPT = "OK, you're still linked as <b>{email}</b>."
UNLINK_NOT_LINKED = "This Telegram account isn't linked, so there's nothing to unlink."

# --- cohorts ------------------------------------------------------------------------------
JOINED = "🎓 You've joined <b>{cohort}</b> (tutor: {tutor})."
ALREADY_MEMBER = "You're already in <b>{cohort}</b> (tutor: {tutor})."
INVITE_AFTER_LINK = "Once your account is linked you'll join <b>{cohort}</b>."
INVITE_INVALID = (
    "That invite link doesn't work any more: your tutor may have replaced it with a new one. "
    "Ask them for the current link."
)
INVITE_OWN_COHORT = "You're the tutor of <b>{cohort}</b>: students who open this link join it."

# --- the verification email ----------------------------------------------------------------
EMAIL_SUBJECT = "Your PTL trainer code"
EMAIL_TEXT = """\
Your one-time code for the PTL trainer bot on Telegram is:

    {code}

Type it into the chat with the bot. It works for {minutes} minutes and only once.

If you didn't ask for this code, ignore this email: without the code nobody can link
your platform account to Telegram.
"""
EMAIL_HTML = """\
<!doctype html>
<html><body style="font-family: Arial, sans-serif; font-size: 16px; color: #212b32;">
<p>Your one-time code for the <b>PTL trainer</b> bot on Telegram is:</p>
<p style="font-size: 28px; font-weight: bold; letter-spacing: 4px;">{code}</p>
<p>Type it into the chat with the bot. It works for {minutes} minutes and only once.</p>
<p style="color: #4c6272;">If you didn't ask for this code, ignore this email: without the
code nobody can link your platform account to Telegram.</p>
</body></html>
"""


def tries_left(n: int) -> str:
    return TRIES_LEFT.get(n) or TRIES_LEFT_MANY.format(n=n)


def when(retry_at: datetime, now: datetime) -> str:
    """'in 42 seconds', 'in 3 minutes', 'at 14:32 (in 18 minutes)': when to try again.

    `retry_at` and `now` are aware datetimes in the bot's time zone (Europe/London).
    """
    seconds = max(1, int((retry_at - now).total_seconds() + 0.999))
    if seconds < 60:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    phrase = f"in {minutes} minute{'s' if minutes != 1 else ''}"
    if minutes < 5:
        return phrase
    return f"at {retry_at.strftime('%H:%M')} ({phrase})"
