"""Wording for tutors (cohorts, /broadcast, /progress, /students) and for the exercises
students receive. Everything a user typed is escaped by the caller before it lands here."""

from __future__ import annotations

from collections.abc import Mapping

# --- cohorts ---------------------------------------------------------------------------
COHORT_USAGE = (
    "👥 <b>Cohorts</b>\n"
    "/cohort new <i>NAME</i>: create a cohort and get its invite link\n"
    "/cohorts: your cohorts, members and invite links"
)
COHORT_NAME_TOO_LONG = "A cohort name can be up to {limit} characters; please shorten it."
COHORT_NAME_EMPTY = "I didn't see a name. Type the cohort's name, e.g. Year 1 Group A."
COHORT_NAME_CONTROL = "That contains hidden control characters. Please type the name again."
ASK_COHORT_NAME = (
    "👥 <b>New cohort</b>\nWhat should it be called? Type its name (up to {limit} characters), "
    "e.g. <i>Year 1 Group A</i>."
)
NEW_COHORT_BUTTON = "➕ New cohort"
COHORT_CREATED = (
    "✅ Cohort <b>{name}</b> created.\n\n"
    "Share this invite link with the class (a student taps it, confirms their platform email "
    "and joins):\n{link}\n\n"
    "Anyone with the link can join until you replace it (🔄 New invite link)."
)
NO_COHORTS = (
    "You have no cohorts yet. Create one with /cohort new <i>NAME</i>, "
    "e.g. /cohort new Year 1 Group A."
)
COHORTS_TITLE = "👥 <b>Your cohorts</b> (tap one to manage it)"
COHORT_BUTTON = "{name} · {members}"
COHORT_CARD = "👥 <b>{name}</b>\n{members} · created {created}\n\nInvite link:\n{link}"
COHORT_ARCHIVED = "\n\n🗄 Archived: the invite link no longer works."
MEMBERS_BUTTON = "👤 Members"
STUDENTS_BUTTON = "📊 PTL summaries"
ROTATE_BUTTON = "🔄 New invite link"
BROADCAST_BUTTON = "📣 Send an exercise"
ALL_COHORTS_BUTTON = "« All cohorts"
ROTATE_CONFIRM = (
    "🔄 Replace the invite link of <b>{name}</b>?\n\n"
    "The current link stops working at once: anyone who taps it is told it has been replaced "
    "and to ask you for the new one. Students who already joined stay in the cohort."
)
ROTATE_YES = "🔄 Yes, replace it"
ROTATED = "✅ New invite link for <b>{name}</b>:\n{link}\n\nThe old link no longer works."
MEMBERS_TITLE = "👤 <b>{name}</b>: {count}{page}"
MEMBERS_EMPTY = "👤 <b>{name}</b> has no members yet. Share the invite link:\n{link}"
MEMBER_LINE = "{n}. {email}\n    {linked} · last active {seen}"
LINKED = "🟢 linked"
NOT_LINKED = "⚪ not linked"
BLOCKED = "⛔ blocked the bot"
NEVER = "never"
REMOVE_BUTTON = "✖ Remove {n}. {email}"
PREV = "‹ Prev"
NEXT = "Next ›"
REMOVE_CONFIRM = (
    "Remove <b>{email}</b> from <b>{name}</b>?\n\n"
    "They stop receiving this cohort's exercises and leave your /students list. Their own "
    "PTL is not touched. They can rejoin with the invite link unless you replace it."
)
REMOVE_YES = "✖ Yes, remove"
REMOVED = "✅ {email} removed from <b>{name}</b>."
NOT_A_MEMBER = "{email} is not a member of <b>{name}</b> any more."
NOT_YOUR_COHORT = "That cohort isn't one of yours (or no longer exists)."
BACK = "« Back"

# --- /broadcast ------------------------------------------------------------------------
BROADCAST_NEEDS_COHORT = (
    "📣 To send an exercise you need a cohort with students. Create one with "
    "/cohort new <i>NAME</i> and share its invite link."
)
BROADCAST_PICK_COHORT = "📣 <b>New exercise</b> (step 1 of 6)\nWhich cohort is it for?"
BROADCAST_COHORT_BUTTON = "{name} · {members}"
BROADCAST_EMPTY_COHORT = (
    "<b>{name}</b> has no members yet: share its invite link first, then try again."
)
ASK_TITLE = (
    "📣 <b>{cohort}</b> (step 2 of 6)\nSend the exercise's <b>title</b> (up to {limit} "
    "characters), e.g. <i>Week 3: 18-week breach triage</i>."
)
TITLE_TOO_LONG = "That title is {n} characters; please keep it to {limit}."
ASK_BRIEF = (
    "✍️ (step 3 of 6) Send the <b>brief</b>: what students should do, in one message (up to "
    "{limit} characters)."
)
BRIEF_TOO_LONG = "That brief is {n} characters; please keep it to {limit} (one message)."
TEXT_PLEASE = "Please send this as a text message."
ASK_SCENARIO = (
    "🧑‍⚕️ (step 4 of 6) Add <b>scenario patients</b>? When a student presses Start, they are "
    "added to the student's own PTL, with dates set relative to that day.\n\n"
    "Pick a built-in scenario, upload your own CSV, or skip."
)
SCENARIO_BUTTON = "{title} ({n})"
UPLOAD_CSV_BUTTON = "⬆️ Upload a CSV"
NO_PATIENTS_BUTTON = "No patients »"
SCENARIO_DETAIL = (
    "🧑‍⚕️ <b>{title}</b>: {n}\n"
    "<i>Practises:</i> {teaches}\n\n"
    "<b>Answer key</b> (for you; students don't see it):\n{answer_key}\n\n"
    "Patients:\n{patients}"
)
SCENARIO_PATIENT_LINE = "• {name}: {pathway}, clock started {start}"
USE_SCENARIO_BUTTON = "✅ Use this scenario"
OTHER_SCENARIOS_BUTTON = "« Other scenarios"
CSV_LAYOUT = (
    "⬆️ Send the CSV file (as a document). One patient per line, a header line first; "
    "up to {max_rows} patients. Columns (* required):\n{columns}\n\n"
    "Dates: <code>-130</code>, <code>130 days ago</code>, <code>18 weeks ago</code> and "
    "<code>today</code> are counted back from the day the student presses Start (best: the "
    "exercise stays fresh); <code>12/10/2025</code> is a fixed date.\n"
    "Events: <code>kind@date</code> separated by <code>;</code>, e.g. "
    "<code>activity@-100; treatment_started@-3</code>.\n"
    "Every line is checked like /add; nothing is used until the whole file is clean.\n"
    "The template below has every column."
)
CSV_COLUMN_LINE = "• <code>{name}</code>{star}: {meaning}"
CSV_TEMPLATE_CAPTION = "Template: fill in, save as CSV and send it back."
CSV_SEND_FILE = "Please send the CSV as a file (📎 then File), or press Back."
CSV_NOT_CSV = (
    "That file doesn't look like a CSV (“{name}”). Save the spreadsheet as CSV and send it again."
)
CSV_TOO_BIG = "That file is {kb} KB; a scenario CSV is at most {limit} KB."
CSV_DOWNLOAD_FAILED = "I couldn't download that file from Telegram. Please send it again."
CSV_ERRORS = (
    "❌ <b>{file}</b> has {problems}, so nothing from it was used. Fix these lines and "
    "send the file again:\n\n{lines}"
)
CSV_OK = "✅ <b>{file}</b>: {patients} ready.\n{lines}"
MORE_PATIENTS = "…and {n} more."
CSV_WARNINGS = "\n\n⚠️ Worth a look (allowed, e.g. if the exercise is about spotting them):\n{lines}"
ASK_QUIZ = (
    "📝 (step 5 of 6) Add <b>quiz questions</b>? Students get them as Telegram quiz polls when "
    "they are ready (📝 Take the quiz, after Start), then the answer key with your "
    "explanations; you see every answer in /progress.\n\n"
    "To add one, send it as lines: the question, then each answer on its own line with the "
    "right one marked <code>*</code>, and optionally a line starting <code>?</code> with an "
    "explanation:\n\n"
    "<code>Which RTT code starts a new clock after active monitoring?\n10\n* 11\n20\n"
    "? Code 11: treatment decided after active monitoring.</code>"
)
SUGGESTED_QUIZ_BUTTON = "📝 Use the scenario's {questions}"
QUIZ_SO_FAR = "\n\nSo far: {questions}."
NO_QUIZ_BUTTON = "No quiz »"
QUIZ_DONE_BUTTON = "Done with questions »"
QUESTION_ADDED = (
    "✅ Question {n} added ({correct} is the right answer). Send another, or press Done."
)
SUGGESTED_ADDED = "✅ {questions} added. Send another, or press Done."
QUESTION_LIMIT = "That's {limit} questions, the most one exercise can have."
QUESTION_PROBLEM = "❌ {problem}\n\nSend the question again (see the example above)."
ASK_DUE = (
    "📅 (step 6 of 6) Is there a <b>due date</b>? Type it (e.g. <i>next Friday</i>, "
    "<i>14/03/2025</i>) or press No due date."
)
NO_DUE_BUTTON = "No due date »"
DUE_IN_PAST = "{date} is in the past; type a date from today on, or press No due date."
PREVIEW = (
    "👀 <b>Preview</b>: each student gets the message between the lines, with ▶️ Start and "
    "✅ Mark as done buttons{quiz}.\n"
    "──────────\n{exercise}\n──────────\n\n{confirm}"
)
PREVIEW_POLL_FAILED = (
    "⚠️ Telegram would not take question {n} as a quiz poll, so students would not get it. "
    "Go « Back to the quiz step and type it again, shorter."
)
PREVIEW_QUIZ_ABOVE = "; the quiz polls above follow when they tap 📝 Take the quiz"
CONFIRM_SEND = "📣 Send <b>{title}</b> to <b>{cohort}</b> ({students})?"
SEND_BUTTON = "📣 Send"
PREVIEW_BUTTON_ANSWER = "This is your preview: students' buttons will work."
SEND_NO_MEMBERS = "Nobody is in <b>{cohort}</b> now, so nothing was sent."
SENT_ALREADY = "This exercise was already sent; its progress is below."
BROADCAST_CANCELLED = "Cancelled. Nothing was sent."
BROADCAST_EXPIRED = "That preview is out of date. Start again with /broadcast."
BROADCAST_WHERE = "step {n} of 6 · {title}"
BROADCAST_WHERE_PREVIEW = "the preview"
BROADCAST_STEPS = {
    "cohort": "Cohort",
    "title": "Title",
    "brief": "Brief",
    "scenario": "Scenario patients",
    "detail": "Scenario patients",
    "csv": "Scenario patients",
    "quiz": "Quiz",
    "due": "Due date",
}
CURRENTLY = "Currently: <b>{value}</b>"
TAP_A_BUTTON = "Please tap one of the buttons below."
DUE_UNREADABLE = "I couldn't read that as a date."

# --- progress of a broadcast (the tutor's live message) -----------------------------------
PROGRESS_SENDING = "📣 <b>{title}</b> → {cohort}\n⏳ Sending: {sent} of {total} sent{extra}"
PROGRESS_DONE = "📣 <b>{title}</b> → {cohort}\n✅ Delivered to {sent} of {total}{extra}"
PROGRESS_EXTRA = {
    "blocked": "{n} blocked",
    "not_linked": "{n} not linked",
    "failed": "{n} failed",
    "unconfirmed": "{n} unconfirmed",
}
PROGRESS_RETRYING = "\n🕐 {n} waiting to retry (Telegram asked us to slow down)"
PROGRESS_HINTS = {
    "blocked": "⛔ blocked: they blocked the bot; they'll get exercises again after /start.",
    "not_linked": "🔗 not linked: no Telegram account linked to that email at the moment.",
    "unconfirmed": (
        "❓ unconfirmed: the bot restarted while sending, so it can't tell whether the "
        "message arrived; it is not resent automatically (never twice)."
    ),
    "failed": "⚠️ failed: Telegram refused the message (see /progress).",
}
PROGRESS_BUTTON = "📊 Progress"
RESEND_BUTTON = "🔁 Resend to {n}"
RESENT = "🔁 Queued again for {students}."
NOTHING_TO_RESEND = "Nothing to resend."


def progress_extra(counts: Mapping[str, int]) -> str:
    parts = [PROGRESS_EXTRA[k].format(n=counts[k]) for k in PROGRESS_EXTRA if counts.get(k)]
    return (", " + ", ".join(parts)) if parts else ""


# --- the exercise, as students get it -----------------------------------------------------
EXERCISE = "📚 <b>{title}</b>\n<i>Exercise from your tutor · {cohort}</i>\n\n{brief}"
EXERCISE_PATIENTS = "\n\n🧑‍⚕️ {patients}: press ▶️ Start to add them to your PTL (tagged {tag})."
EXERCISE_PATIENTS_ADDED = (
    "\n\n▶️ Started: {patients} on your PTL (tagged {tag}). Work on them in /ptl."
)
EXERCISE_STARTED = "\n\n▶️ Started."
EXERCISE_QUIZ = "\n📝 Quiz: {questions}, when you are ready (after ▶️ Start)."
EXERCISE_QUIZ_READY = (
    "\n📝 Quiz: {questions}. Tap 📝 Take the quiz when you have worked through the exercise."
)
EXERCISE_QUIZ_SENT = "\n📝 Quiz: {questions}, sent below: tap an answer in each."
EXERCISE_QUIZ_SCORED = "\n📝 Quiz: {right} of {total} right. The answer key is below."
EXERCISE_DUE = "\n📅 Due {date}"
EXERCISE_DONE = "\n\n✅ You marked this as done."
EXERCISE_TAG = "[Exercise {id}]"
START_BUTTON = "▶️ Start"
TAKE_QUIZ_BUTTON = "📝 Take the quiz"
DONE_BUTTON = "✅ Mark as done"
UNDO_DONE_BUTTON = "↩️ Not done yet"
MY_PTL_BUTTON = "📋 My PTL"
STARTED_WITH_PATIENTS = (
    "▶️ <b>{title}</b>: {added} added to your PTL, tagged {tag}. Open /ptl to work on them.{quiz}"
)
STARTED_AGAIN = (
    "▶️ <b>{title}</b> is already started: its {patients} are on your PTL (tagged "
    "{tag}), nothing was added twice."
)
STARTED_NO_PATIENTS = "▶️ <b>{title}</b> started.{quiz}"
STARTED_QUIZ = "\nWhen you are ready, tap 📝 Take the quiz on the exercise ({questions})."
QUIZ_FOLLOWS = "📝 <b>{title}</b>: {questions}. Tap an answer in each; the answer key follows."
QUIZ_ALREADY_SENT = "The quiz is already in the chat above: tap an answer in each poll."
ANSWER_KEY = "📝 <b>{title}</b>: answer key\nYou got {right} of {total} right.{verdict}"
ANSWER_KEY_ALL_RIGHT = " All right: well done."
ANSWER_KEY_LINE_RIGHT = "\n\n<b>{n}. {question}</b>\n✔ {answer}"
ANSWER_KEY_LINE_WRONG = "\n\n<b>{n}. {question}</b>\n✖ You chose: {chosen}\n✔ Answer: {answer}"
ANSWER_KEY_LINE_NONE = "\n\n<b>{n}. {question}</b>\n✔ Answer: {answer}"
ANSWER_KEY_WHY = "\n💡 {explanation}"
ANSWER_KEY_NEXT = "\n\nMark the exercise as done when you have finished it."
MARKED_DONE = "Marked as done ✅"
MARKED_NOT_DONE = "Marked as not done yet"
DONE_FEEDBACK = "✅ <b>{title}</b> marked as done.{quiz} Your tutor sees it in their progress."
DONE_FEEDBACK_SCORE = " Quiz: {right} of {total} right."
DONE_FEEDBACK_NO_QUIZ = " You haven't taken the quiz yet: 📝 Take the quiz is below."
DONE_FEEDBACK_QUIZ_OPEN = " Quiz: {answered} of {total} answered so far."
NOT_DONE_FEEDBACK = "↩️ <b>{title}</b> is not done yet: carry on when you are ready."
NOT_YOURS = "This exercise wasn't sent to you (or you have left the cohort)."
EXERCISE_GONE = "This exercise no longer exists."
MY_EXERCISES_EMPTY = "You have no exercises yet. Your tutor's exercises will arrive here."
MY_EXERCISES_TITLE = "📚 <b>Your exercises</b> (newest first)"
MY_EXERCISE_LINE = "{mark} {title} · {cohort}{due}"

# --- /progress and /students --------------------------------------------------------------
NO_EXERCISES = "You haven't sent any exercises yet. Send one with /broadcast."
PICK_EXERCISE = "📊 <b>Progress</b>: which exercise?"
EXERCISE_BUTTON = "{title} · {cohort} · {done}/{total} done"
PROGRESS_TITLE = (
    "📊 <b>{title}</b> → {cohort}{due}\n"
    "Delivered {delivered} of {total} · opened {opened} · started {started} · done {done}{quiz}"
)
PROGRESS_QUIZ = "\nQuiz ({questions}): {complete} answered all, average {average}"
PROGRESS_QUIZ_NONE = "\nQuiz ({questions}): no answers yet"
PROGRESS_IMPORTED = " · {patients} imported"
QUESTIONS_TITLE = "📝 <b>Question by question</b>"
QUESTION_LINE = "{n}. {question}\n    ✔ {answer} · {result}"
QUESTION_RESULT = "{right} of {answered} right ({percent}%)"
QUESTION_MOST_WRONG = "; most chosen wrong answer: “{choice}” ({students})"
QUESTION_NO_ANSWERS = "no answers yet"
SEND_TO_NEW_BUTTON = "📨 Send to {students}"
SENT_TO_NEW = "📨 Queued for {students} who joined later."
PROGRESS_NOT_OPENED = "\n\n👀 <b>Not opened yet</b> ({n}): {emails}"
PROGRESS_STUDENT = "{mark} {email}{quiz}{note}"
PROGRESS_STUDENT_QUIZ = " · quiz {correct}/{total}"
PROGRESS_MARKS = {
    "done": "✅",
    "started": "▶️",
    "opened": "👀",
    "sent": "📬",
    "pending": "⏳",
    "blocked": "⛔",
    "not_linked": "🔗",
    "failed": "⚠️",
    "unconfirmed": "❓",
    "not_sent": "🆕",
}
PROGRESS_LEGEND = (
    "\n\n✅ done · ▶️ started · 👀 opened · 📬 delivered, not opened · ⏳ sending · "
    "⛔ blocked · 🔗 not linked · ❓ unconfirmed · ⚠️ failed · 🆕 joined later, not sent yet"
)
PAGE = " (page {page} of {pages})"
CSV_BUTTON = "⬇️ CSV"
REFRESH_BUTTON = "🔄 Refresh"
OTHER_EXERCISES_BUTTON = "« Exercises"
PICK_COHORT_STUDENTS = "📊 <b>Students</b>: which cohort?"
STUDENTS_TITLE = (
    "📊 <b>{name}</b>: {count} · {patients} · {breached} breached"
    "{page}\n<i>Summaries only: students' patients stay private.</i>"
)
STUDENT_LINE = "{n}. {email}\n    PTL {size} · breached {breached} · active {active}"
STUDENT_BOOKINGS = "\n    🗓 undated at risk {undated} · ❗ outcomes missing {outcomes}"
STUDENTS_EMPTY = "<b>{name}</b> has no members yet."
