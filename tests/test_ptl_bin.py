"""Delete (confirm, soft delete, Undo), stale deletes, and /bin with its 30-day window."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime.offline import ChatUser
from storage.patients import PatientNotFoundError
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient, link


async def _open_card(bot: Bot, name: str = "Ann Lee") -> tuple[ChatUser, str]:
    await link(bot)
    p = await add_patient(bot, name, TODAY - timedelta(days=20))
    sam = bot.user(901)
    await sam.send("/ptl")
    await sam.press(f"1. 🟢 {name}")
    return sam, p.patient_id


async def test_delete_asks_first_then_bins_and_undo_restores(bot: Bot) -> None:
    sam, pid = await _open_card(bot)
    replies = await sam.press("🗑 Delete")
    assert "Delete Ann Lee? It goes to the bin for 30 days" in replies[0].text
    # Keep changes nothing.
    replies = await sam.press("Keep")
    assert "✏️ Update" in replies[0].button_labels
    assert (await bot.services.patients.get(EMAIL, pid)).deleted_at is None
    await sam.press("🗑 Delete")
    replies = await sam.press("🗑 Yes, delete")
    assert "Ann Lee is in the bin" in replies[0].text
    assert replies[0].button_labels == ["↩️ Undo", "« PTL"]
    assert await bot.services.patients.list(EMAIL) == []
    assert "Your PTL is empty" in (await sam.send("/ptl"))[0].text
    replies = await sam.press("↩️ Undo", message=replies[0])
    assert "Ann Lee is back on your PTL" in replies[0].text
    assert [p.patient_id for p in await bot.services.patients.list(EMAIL)] == [pid]
    # A second Undo on the same message finds it live already: answered, card shown.
    replies = await sam.press_data(f"undo:{pid}", message=replies[0])
    assert "Ann Lee is already on your PTL" in replies[0].text


async def test_a_second_tap_on_yes_delete_says_already_in_the_bin(bot: Bot) -> None:
    sam, pid = await _open_card(bot)
    (confirm,) = await sam.press("🗑 Delete")
    yes = next(b for row in confirm.buttons for b in row if b.text == "🗑 Yes, delete")
    await sam.press("🗑 Yes, delete", message=confirm)
    # The phone still shows the old buttons for a moment: the second tap lands on them.
    (again,) = await sam.press_data(yes.callback_data or "", message=confirm)
    assert again.text.startswith("🗑 Ann Lee is already in the bin. Tap Undo to bring it back")
    assert again.button_labels == ["↩️ Undo", "« PTL"]
    replies = await sam.press("↩️ Undo", message=again)
    assert "Ann Lee is back on your PTL" in replies[0].text
    assert [p.patient_id for p in await bot.services.patients.list(EMAIL)] == [pid]


async def test_stale_delete_is_refused_with_the_fresh_card(bot: Bot) -> None:
    sam, pid = await _open_card(bot)
    await sam.press("🗑 Delete")
    current = await bot.services.patients.get(EMAIL, pid)
    await bot.services.patients.update(EMAIL, pid, current.version, {"patient_name": "Ann New"})
    replies = await sam.press("🗑 Yes, delete")
    assert "changed somewhere else" in replies[0].text
    assert "Ann New" in replies[0].text
    assert (await bot.services.patients.get(EMAIL, pid)).deleted_at is None


async def test_bin_lists_restores_and_purges_after_30_days(bot: Bot) -> None:
    await link(bot)
    sam = bot.user(901)
    assert "Your bin is empty" in (await sam.send("/bin"))[0].text
    a = await add_patient(bot, "Old One", TODAY - timedelta(days=5))
    b = await add_patient(bot, "New <One>", TODAY - timedelta(days=5))
    patients = bot.services.patients
    await patients.soft_delete(EMAIL, a.patient_id, a.version, at=bot.clock.now())
    bot.clock.advance(10)
    await patients.soft_delete(EMAIL, b.patient_id, b.version, at=bot.clock.now())
    reply = (await sam.send("/bin"))[0]
    assert "1. New <One> · deleted 13 Mar 2025 · 30 days left" in reply.text
    assert "2. Old One · deleted 3 Mar 2025 · 20 days left" in reply.text
    replies = await sam.press("↩️ 1. New <One>")
    assert "New <One> is back on your PTL" in replies[0].text
    assert "Old One" in replies[0].text and "Open New <One>" in replies[0].button_labels
    assert [p.patient_id for p in await patients.list(EMAIL)] == [b.patient_id]
    # 31 days after deletion the old one is gone for good.
    bot.clock.advance(21)
    reply = (await sam.send("/bin"))[0]
    assert "Your bin is empty" in reply.text
    try:
        await patients.get(EMAIL, a.patient_id, include_deleted=True)
        raise AssertionError("should have been purged")
    except PatientNotFoundError:
        pass


async def test_restore_after_window_refuses_and_purge_job_clears_all_students(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, "kim@student.example", "Kim")
    a = await add_patient(bot, "Sam's", TODAY)
    k = await add_patient(bot, "Kim's", TODAY, email="kim@student.example")
    patients = bot.services.patients
    await patients.soft_delete(EMAIL, a.patient_id, a.version, at=bot.clock.now())
    await patients.soft_delete("kim@student.example", k.patient_id, k.version, at=bot.clock.now())
    sam = bot.user(901)
    bin_msg = (await sam.send("/bin"))[0]
    bot.clock.advance(31)
    await sam.press("↩️ 1. Sam's", message=bin_msg)
    alerts = [c for c in bot.api.calls_to("answerCallbackQuery") if c.params.get("show_alert")]
    assert "more than 30 days" in alerts[-1].params["text"]
    assert await patients.list(EMAIL) == []
    # The daily job: service path, every student.
    assert await patients.purge_all_bins(bot.clock.now() - timedelta(days=30)) == 1
    assert await patients.list("kim@student.example", deleted=True) == []


async def test_forged_delete_of_someone_elses_patient_changes_nothing(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, "kim@student.example", "Kim")
    k = await add_patient(bot, "Kim's", TODAY, email="kim@student.example")
    sam = bot.user(901)
    menu = (await sam.send("/menu"))[0]
    await sam.press_data(f"del:{k.patient_id}", message=menu)
    await sam.press_data(f"delok:{k.patient_id}:{k.version}", message=menu)
    await sam.press_data(f"undo:{k.patient_id}", message=menu)
    await sam.press_data("delok:garbage", message=menu)
    assert (await bot.services.patients.get("kim@student.example", k.patient_id)).deleted_at is None


async def test_forged_bin_callbacks_are_answered_and_change_nothing(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, "kim@student.example", "Kim")
    k = await add_patient(bot, "Kim's", TODAY, email="kim@student.example")
    await bot.services.patients.soft_delete("kim@student.example", k.patient_id, k.version)
    sam = bot.user(901)
    msg = (await sam.send("/bin"))[0]
    for data in (f"rst:{k.patient_id}:0", "rst:nonsense", "bin:abc", "bin:999"):
        await sam.press_data(data, message=msg)  # asserts each query was answered
    binned = await bot.services.patients.list("kim@student.example", deleted=True)
    assert [p.patient_id for p in binned] == [k.patient_id]
