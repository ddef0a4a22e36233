"""/start linking through the real Application, offline Bot API and the console verifier.

Covers the whole student journey and every limit: wrong code, expiry, too many tries,
resend pacing and the hourly cap (per Telegram user and per email), a restart between the
code being sent and typed, moving an email to a second Telegram account, invite deep links
before and after linking, /whoami, /unlink, and the tutor-only guard.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.runtime.offline import ChatUser
from handlers.guards import Student, tutor_only
from storage.db import Database
from tests import harness
from tests.harness import Bot

EMAIL = "sam.jones@uni.ac.uk"


def attach_console(bot: Bot) -> io.StringIO:
    out = io.StringIO()
    bot.services.extra["console_out"] = out
    return out


def console_code(out: io.StringIO) -> str:
    codes = re.findall(r"^\[console verifier\] code for \S+: (\d{6})$", out.getvalue(), re.M)
    assert codes, "the console verifier printed no code"
    return codes[-1]


@pytest.fixture
async def linking(db: Database) -> AsyncIterator[tuple[Bot, io.StringIO]]:
    bot = await harness.make_bot(db)
    out = attach_console(bot)
    yield bot, out
    await harness.close_bot(bot)


async def send_code(user: ChatUser, email: str = EMAIL) -> None:
    await user.send("/start")
    replies = await user.send(email)
    assert "6-digit code" in replies[-1].text, replies[-1].text


async def test_unlinked_start_explains_then_links_with_the_code(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, out = linking
    sam = bot.user(1001, "Sam")
    replies = await sam.send("/start")
    intro = replies[-1].text
    assert intro.startswith("👋 Hi Sam! I'm the PTL trainer")
    assert "fictional patients only" in intro.lower()
    assert "email address you use on the platform" in intro

    replies = await sam.send("  Sam.Jones@Uni.AC.uk ")
    assert "sam.jones@uni.ac.uk" in replies[-1].text
    assert replies[-1].button_labels == ["🔁 Send a new code", "✏️ Use a different email",
                                         "✖ Cancel"]  # fmt: skip
    assert "[console verifier] code for s***@uni.ac.uk: " in out.getvalue()

    replies = await sam.send(console_code(out))
    assert [r.text for r in replies] == [
        "✅ Linked! You're signed in as sam.jones@uni.ac.uk. Your PTL here is the same one you "
        "see on the platform.\n\nWhat would you like to do first, Sam?"
    ]
    assert "➕ Add patient" in replies[-1].button_labels
    link = await bot.services.links.active_for_user(1001)
    assert link is not None and link.email == EMAIL and link.chat_id == 1001

    # Linked: /start welcomes back by name with the menu, and /whoami says who.
    replies = await sam.send("/start")
    assert [r.text for r in replies] == ["👋 Welcome back, Sam! What would you like to do?"]
    assert "➕ Add patient" in replies[0].button_labels
    assert "/whoami" not in sam.last.text
    replies = await sam.send("/whoami")
    assert re.fullmatch(
        r"You're linked as sam\.jones@uni\.ac\.uk \(student\), since \d{1,2} \w{3} \d{4}\.",
        replies[0].text,
    )


async def test_wrong_code_then_right_code_and_code_is_single_use(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, out = linking
    sam = bot.user(1002)
    await send_code(sam)
    code = console_code(out)
    wrong = "000000" if code != "000000" else "111111"
    replies = await sam.send(wrong)
    assert "That code didn't work" in replies[0].text
    assert "You have 4 tries left." in replies[0].text
    replies = await sam.send("12 34")  # not six digits
    assert "6 digits" in replies[0].text
    replies = await sam.send(f"{code[:3]} {code[3:]}")  # spaces are fine
    assert any("✅ Linked!" in r.text for r in replies)

    # The same code cannot link a second account.
    other = bot.user(1003, "Ola")
    await other.send("/start")
    await other.send("ola@uni.ac.uk")
    replies = await other.send(code)
    assert "didn't work" in replies[0].text or "Linked" not in replies[0].text
    assert await bot.services.links.active_for_user(1003) is None


async def test_five_wrong_tries_invalidate_the_code(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1004)
    await send_code(sam)
    code = console_code(out)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        replies = await sam.send(wrong)
        assert text_has(replies, "1 try left" if left == 1 else f"{left} tries left")
    replies = await sam.send(wrong)
    assert text_has(replies, "That's 5 wrong tries, so that code no longer works")
    # The right code no longer works either.
    replies = await sam.send(code)
    assert text_has(replies, "There's no code waiting")
    assert await bot.services.links.active_for_user(1004) is None
    # A minute later a new code can be sent and works.
    await harness.age_codes(bot.services.db, seconds=61)
    await sam.press("🔁 Send a new code")
    replies = await sam.send(console_code(out))
    assert text_has(replies, "✅ Linked!")


async def test_expired_code(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1005)
    await send_code(sam)
    code = console_code(out)
    await harness.age_codes(bot.services.db, seconds=601)
    replies = await sam.send(code)
    assert text_has(replies, "That code has expired: codes work for 10 minutes.")
    assert text_has(replies, "Tap <b>Send a new code</b>") or text_has(replies, "Send a new code")
    assert await bot.services.links.active_for_user(1005) is None


async def test_resend_too_soon_and_hourly_cap(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1006)
    await send_code(sam)
    await harness.age_codes(bot.services.db, seconds=18)
    replies = await sam.press("🔁 Send a new code")
    assert text_has(replies, "I sent a code less than a minute ago")
    assert text_has(replies, "in 42 seconds")
    for _ in range(4):  # codes 2..5 this hour
        await harness.age_codes(bot.services.db, seconds=61)
        replies = await sam.press("🔁 Send a new code")
        assert text_has(replies, "6-digit code"), [r.text for r in replies]
    await harness.age_codes(bot.services.db, seconds=61)
    replies = await sam.press("🔁 Send a new code")
    # The first code was sent 5 min 23 s ago (database time); the sixth may go an hour
    # after it, shown on the bot's clock (fixed at 12:00 here): 12:54, in 55 minutes.
    assert text_has(replies, "That's the most codes I can send in an hour (5)")
    assert text_has(replies, "at 12:54 (in 55 minutes)")
    # The latest code still works despite the refusal.
    replies = await sam.send(console_code(out))
    assert text_has(replies, "✅ Linked!")


async def test_another_account_cannot_lock_an_email_out(
    linking: tuple[Bot, io.StringIO],
) -> None:
    """Issue 14, point 11: an account asking for someone else's address five times an hour,
    and burning every code with wrong tries, leaves the owner's own code and allowance alone."""
    bot, out = linking
    attacker, owner = bot.user(1007), bot.user(1008)
    await send_code(attacker)
    for n in range(5):
        for _ in range(5):
            await attacker.send("000000")
        replies = await attacker.press("🔁 Send a new code")
        if n < 4:
            assert text_has(replies, "less than a minute ago")  # its own pacing only
            await harness.age_codes(bot.services.db, seconds=61)
            await attacker.press("🔁 Send a new code")
    assert text_has(attacker.history[-1:], "most codes I can send in an hour")
    # The owner is unaffected: a code at once, and it works.
    await send_code(owner)
    replies = await owner.send(console_code(out))
    assert text_has(replies, "✅ Linked!")


async def test_a_code_asked_for_by_one_account_never_completes_anothers(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, out = linking
    first, second = bot.user(1017), bot.user(1018)
    await send_code(first)
    first_code = console_code(out)
    await send_code(second)
    second_code = console_code(out)
    if first_code != second_code:
        assert text_has(await second.send(first_code), "That code didn't work")
        assert text_has(await first.send(second_code), "That code didn't work")
    # Each account's own code still works (the wrong tries were its own).
    assert text_has(await second.send(second_code), "✅ Linked!")
    assert await bot.services.links.active_for_user(1017) is None


async def test_an_address_has_a_higher_cap_shared_by_all_accounts(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, _ = linking
    accounts = [bot.user(1040 + i) for i in range(3)]
    for account in accounts[:2]:
        await send_code(account)
    for _ in range(4):  # codes 2..5 for each of the first two accounts: ten for the address
        await harness.age_codes(bot.services.db, seconds=61)
        for account in accounts[:2]:
            replies = await account.press("🔁 Send a new code")
            assert text_has(replies, "6-digit code"), [r.text for r in replies]
    await accounts[2].send("/start")
    replies = await accounts[2].send(EMAIL)
    assert text_has(replies, "That address has had the most codes I can send it in an hour (10)")
    assert not text_has(replies, "account")  # nothing said about who asked, or a platform account


async def test_restart_between_sending_and_typing_the_code(db: Database) -> None:
    first = await harness.make_bot(db)
    out = attach_console(first)
    await send_code(first.user(1010, "Sam"))
    code = console_code(out)
    await harness.close_bot(first)

    second = await harness.make_bot(db)  # a new process: state comes back from Postgres
    try:
        sam = second.user(1010, "Sam")
        replies = await sam.send(code)
        assert text_has(replies, "✅ Linked!")
        assert (await second.services.links.active_for_user(1010)) is not None
    finally:
        await harness.close_bot(second)


async def test_limits_survive_a_restart(db: Database) -> None:
    first = await harness.make_bot(db)
    attach_console(first)
    await send_code(first.user(1011))
    await harness.close_bot(first)
    second = await harness.make_bot(db)
    attach_console(second)
    try:
        replies = await second.user(1011).send(EMAIL)
        assert text_has(replies, "less than a minute ago")
    finally:
        await harness.close_bot(second)


async def test_relinking_from_a_second_telegram_account_tells_the_old_chat(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, out = linking
    old = bot.user(1020, "Sam")
    await send_code(old)
    await old.send(console_code(out))
    assert (await bot.services.links.active_for_user(1020)) is not None

    await harness.age_codes(bot.services.db, seconds=61)
    new = bot.user(1021, "Sam")
    await send_code(new, "SAM.JONES@uni.ac.uk")
    replies = await new.send(console_code(out))
    assert text_has(replies, "✅ Linked!")
    notice = old.last.text
    assert "has just been linked to a different Telegram account" in notice
    assert "s***@uni.ac.uk" in notice and EMAIL not in notice
    assert await bot.services.links.active_for_user(1020) is None
    link = await bot.services.links.active_for_email(EMAIL)
    assert link is not None and link.telegram_user_id == 1021
    replies = await old.send("/whoami")
    assert "isn't linked yet" in replies[0].text


async def test_changing_email_after_linking_through_unlink(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, out = linking
    sam = bot.user(1030)
    await send_code(sam)
    await sam.send(console_code(out))
    replies = await sam.send("/unlink")
    assert "Unlink this Telegram account from <b>sam.jones@uni.ac.uk</b>?" in replies[0].html
    replies = await sam.press("No, keep it")
    assert "still linked" in replies[-1].text
    await sam.send("/unlink")
    replies = await sam.press("Yes, unlink")
    assert text_has(replies, "no longer linked")
    assert await bot.services.links.active_for_user(1030) is None
    replies = await sam.send("/unlink")
    assert "nothing to unlink" in replies[0].text
    replies = await sam.send("/menu")
    assert "link your platform account" in replies[0].text


async def test_back_after_blocking_the_bot(linking: tuple[Bot, io.StringIO]) -> None:
    bot, _ = linking
    await bot.services.links.link(1035, 1035, EMAIL, "Sam")
    await bot.services.links.mark_blocked(1035)  # a reminder got 403: the student blocked us
    assert await bot.services.links.active_for_user(1035) is None
    replies = await bot.user(1035, "Sam").send("/start")
    assert "Welcome back, Sam" in replies[-1].text
    assert (await bot.services.links.active_for_user(1035)) is not None
    # But not if the email moved to another account meanwhile.
    await bot.services.links.mark_blocked(1035)
    await bot.services.links.link(1036, 1036, EMAIL, "Sam")
    replies = await bot.user(1035, "Sam").send("/start")
    assert "email address you use on the platform" in replies[-1].text
    assert await bot.services.links.active_for_user(1035) is None


async def test_a_paused_link_never_comes_back_after_the_email_was_linked_elsewhere(
    linking: tuple[Bot, io.StringIO],
) -> None:
    """Issue 14, point 12: verified on another account and unlinked there still counts."""
    bot, _ = linking
    await bot.services.links.link(1037, 1037, EMAIL, "Sam")
    await bot.services.links.mark_blocked(1037)
    await bot.services.links.link(1038, 1038, EMAIL, "Sam")  # verified on another account...
    await bot.services.links.unlink(1038)  # ...and unlinked there: nobody holds the email now
    replies = await bot.user(1037, "Sam").send("/start")
    assert "email address you use on the platform" in replies[-1].text  # a fresh code, please
    assert await bot.services.links.active_for_user(1037) is None


async def test_typo_suggestions_and_bad_addresses(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1040)
    await sam.send("/start")
    replies = await sam.send("sam@gmial.com")
    assert "Did you mean <b>sam@gmail.com</b>?" in replies[0].html
    assert replies[0].button_labels == ["✅ Yes, use that", "✏️ No, keep what I typed"]
    replies = await sam.press("✅ Yes, use that")
    assert text_has(replies, "sam@gmail.com") and text_has(replies, "6-digit code")
    assert "code for s***@gmail.com" in out.getvalue()

    ola = bot.user(1041)
    await ola.send("/start")
    replies = await ola.send("ola.uni.ac.uk")
    assert "it needs an @" in replies[0].text
    replies = await ola.send("ola @ uni.ac.uk")
    assert "can't contain spaces" in replies[0].text
    assert "Did you mean ola@uni.ac.uk?" in replies[0].text
    replies = await ola.press("✏️ No, I'll retype it")
    assert "type your platform email address again" in replies[-1].text
    replies = await ola.send("not an email")
    assert "needs an @" in replies[0].text
    replies = await ola.send("ola@uni.ac.ku")
    replies = await ola.press("✏️ No, keep what I typed")
    assert text_has(replies, "ola@uni.ac.ku") and text_has(replies, "6-digit code")
    # Whatever a user types is escaped in replies.
    kim = bot.user(1042)
    await kim.send("/start")
    replies = await kim.send("<b>kim</b>@uni.ac.uk")
    assert replies and "<b>kim" not in replies[0].text


async def test_use_a_different_email_and_cancel(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1050)
    await send_code(sam, "sam@uni.ac.uk")
    first_code = console_code(out)
    replies = await sam.press("✏️ Use a different email")
    assert "type your platform email address again" in replies[-1].text
    await harness.age_codes(bot.services.db, seconds=61)
    replies = await sam.send(EMAIL)
    assert text_has(replies, "sam.jones@uni.ac.uk")
    # The first address's code no longer links anything.
    replies = await sam.send(first_code)
    assert not text_has(replies, "Linked!")
    replies = await sam.send("/cancel")
    assert "Cancelled: nothing was linked" in replies[0].text
    replies = await sam.send(console_code(out))
    assert not text_has(replies, "Linked!")
    # Buttons from the finished conversation are answered, not ignored.
    replies = await sam.press("🔁 Send a new code", message=sam.last_with_buttons())
    assert text_has(replies, "That step has finished")


async def test_start_mid_flow_resumes_the_code_step(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1060)
    await send_code(sam)
    replies = await sam.send("/start")
    assert "You're part-way through linking" in replies[-1].text
    replies = await sam.send(console_code(out))
    assert text_has(replies, "✅ Linked!")


async def test_domain_allow_list(db: Database) -> None:
    settings = harness.test_settings(allowed_email_domains="uni.ac.uk, nhs.net")
    bot = await harness.make_bot(db, settings=settings)
    out = attach_console(bot)
    try:
        sam = bot.user(1070)
        await sam.send("/start")
        replies = await sam.send("sam@gmail.com")
        assert "links platform emails ending in @nhs.net or @uni.ac.uk only" in replies[0].text
        assert out.getvalue() == ""
        replies = await sam.send("sam@students.uni.ac.uk")
        assert text_has(replies, "6-digit code")
    finally:
        await harness.close_bot(bot)


async def test_deep_link_join_before_linking(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    cohort = await bot.services.cohorts.create("Cohort A (Mar 2025)", "Tutor@Uni.ac.uk")
    assert len(cohort.start_parameter) <= 64
    assert re.fullmatch(r"join_[A-Za-z0-9_-]{16}", cohort.start_parameter)
    sam = bot.user(1080, "Sam")
    replies = await sam.send(f"/start {cohort.start_parameter}")
    assert text_has(replies, "Once your account is linked you'll join <b>Cohort A (Mar 2025)</b>")
    await sam.send(EMAIL)
    replies = await sam.send(console_code(out))
    assert text_has(
        replies, "🎓 You've joined <b>Cohort A (Mar 2025)</b> (tutor: tutor@uni.ac.uk)."
    )
    members = await bot.services.cohorts.memberships(EMAIL)
    assert [c.id for c in members] == [cohort.id]
    replies = await sam.send("/whoami")
    assert "Cohorts: Cohort A (Mar 2025) (tutor: tutor@uni.ac.uk)." in replies[0].text


async def test_deep_link_join_after_linking_is_idempotent(
    linking: tuple[Bot, io.StringIO],
) -> None:
    bot, _ = linking
    cohort = await bot.services.cohorts.create("Cohort B", "tutor@uni.ac.uk")
    await bot.services.links.link(1090, 1090, EMAIL, "Sam")
    sam = bot.user(1090, "Sam")
    replies = await sam.send(f"/start {cohort.start_parameter}")
    assert "You've joined <b>Cohort B</b>" in replies[0].html
    assert "Welcome back, Sam" in replies[-1].text
    replies = await sam.send(f"/start {cohort.start_parameter}")
    assert "You're already in <b>Cohort B</b>" in replies[0].html
    assert len(await bot.services.cohorts.memberships(EMAIL)) == 1


async def test_bad_or_rotated_invite(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    cohort = await bot.services.cohorts.create("Cohort C", "tutor@uni.ac.uk")
    old_link = cohort.start_parameter
    rotated = await bot.services.cohorts.rotate_invite(cohort.id)
    assert rotated is not None and rotated.invite_code != cohort.invite_code
    await bot.services.links.link(1100, 1100, EMAIL, "Sam")
    sam = bot.user(1100, "Sam")
    replies = await sam.send(f"/start {old_link}")
    assert "That invite link doesn't work any more" in replies[0].text
    assert "Welcome back" in replies[-1].text
    assert await bot.services.cohorts.memberships(EMAIL) == []
    # Unlinked with a bad code: told at once, and linking still works.
    ola = bot.user(1101, "Ola")
    replies = await ola.send("/start join_nonsense-code")
    assert text_has(replies, "That invite link doesn't work any more")
    await ola.send("ola@uni.ac.uk")
    replies = await ola.send(console_code(out))
    assert text_has(replies, "✅ Linked!") and not text_has(replies, "joined")
    # The new link works.
    replies = await sam.send(f"/start {rotated.start_parameter}")
    assert "You've joined <b>Cohort C</b>" in replies[0].html


async def test_non_staff_user_calling_a_tutor_command(db: Database) -> None:
    @tutor_only
    async def cohorts_command(update: Update, context: object, student: Student) -> None:
        assert update.effective_chat is not None
        await update.get_bot().send_message(update.effective_chat.id, f"cohorts of {student.email}")

    def setup(app: object) -> None:
        app.add_handler(CommandHandler("tutortest", cohorts_command))  # type: ignore[attr-defined]

    bot = await harness.make_bot(db, setup=setup)
    try:
        stranger = bot.user(1110)
        replies = await stranger.send("/tutortest")
        assert "link your platform account first" in replies[0].text
        await bot.services.links.link(1111, 1111, EMAIL, "Sam")
        replies = await bot.user(1111).send("/tutortest")
        assert "That command is for tutors" in replies[0].text
        # A tutor-looking address is still a student until staff lists it.
        await bot.services.links.link(1112, 1112, "tutor.smith@uni.ac.uk", "Tess")
        tess = bot.user(1112, "Tess")
        assert "That command is for tutors" in (await tess.send("/tutortest"))[0].text
        await bot.services.staff.add("Tutor.Smith@uni.ac.uk", "tutor")
        assert (await tess.send("/tutortest"))[0].text == "cohorts of tutor.smith@uni.ac.uk"
        assert "(tutor)" in (await tess.send("/whoami"))[0].text
    finally:
        await harness.close_bot(bot)


def text_has(replies: list[object], fragment: str) -> bool:
    return any(fragment in getattr(r, "text", "") or fragment in getattr(r, "html", "")
               for r in replies)  # fmt: skip


async def test_code_inside_a_sentence(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    sam = bot.user(1120)
    await send_code(sam)
    replies = await sam.send(f"my code is {console_code(out)} thanks")
    assert text_has(replies, "✅ Linked!")


async def test_identity_commands_refuse_group_chats(linking: tuple[Bot, io.StringIO]) -> None:
    bot, out = linking
    await bot.services.links.link(1130, 1130, EMAIL, "Sam")
    group_id = -100200300
    for command in ("/start", "/whoami", "/unlink"):
        update = Update.de_json(
            {
                "update_id": bot.api.next_update_id(),
                "message": {
                    "message_id": bot.api.next_message_id(group_id),
                    "date": 1_700_000_000,
                    "chat": {"id": group_id, "type": "group", "title": "Cohort A"},
                    "from": {"id": 1130, "is_bot": False, "first_name": "Sam"},
                    "text": command,
                    "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
                },
            },
            bot.app.bot,
        )
        await bot.app.process_update(update)
        reply = bot.api.sent_to(group_id)[-1].text
        assert reply.startswith("I only work in a private chat")
        assert EMAIL not in reply
    assert out.getvalue() == ""
    assert await bot.services.links.active_for_user(1130) is not None
