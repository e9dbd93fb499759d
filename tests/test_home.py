"""What a person sees first (issue 16): a coordinator's home leads with their tools as buttons, each
starting what its command starts; a champion's help is short and signposts NHS 111 and 999; /privacy
says what is kept, why, who sees it and for how long, then the sharing choice."""

from __future__ import annotations

from sqlalchemy import select

from bot.replies import BODY_MAX
from storage import champions
from storage.models import Identity
from tests.conftest import BotHarness, Person, join, make_coordinator, texts
from tests.test_report import TOPIC_QUESTION
from tests.whatsapp_harness import WhatsAppHarness, whatsapp_fixture  # noqa: F401

TOOLS = ["Insights", "Broadcast", "Stats", "Invite link", "Pending approvals", "Champion menu"]


async def coordinator(bot: BotHarness, user_id: int) -> Person:
    sam = bot.person(user_id, "Sam")
    await make_coordinator(bot, sam)
    return sam


async def test_a_coordinator_is_welcomed_with_their_tools_as_buttons(bot: BotHarness, places: None) -> None:
    sam = await coordinator(bot, 9001)
    (home,) = await sam.send("/start")
    assert home.startswith("Welcome back, Sam!\n")
    assert sam.buttons() == TOOLS
    assert "/report" not in home and len(home.splitlines()) <= 8  # not the champion's long help
    (help_home,) = await sam.send("/help")
    assert help_home == home.split("\n", 1)[1]  # the same home, without the greeting
    assert sam.buttons() == TOOLS
    for line in (
        "/invite [network] – make an invite link",
        "/campaigns – pause, resume or cancel campaigns",
        "/themes – grouped reports, step by step",
    ):
        assert line in help_home.splitlines()


async def test_each_tool_button_starts_what_its_command_starts(bot: BotHarness, places: None) -> None:
    sam = await coordinator(bot, 9002)
    pairs = [
        ("Insights", "/insights"),
        ("Stats", "/stats"),
        ("Invite link", "/invite"),
        ("Pending approvals", "/pending"),
        ("Broadcast", "/broadcast"),
    ]
    for label, command in pairs:
        await sam.send("/cancel")
        await sam.send("/help")
        home = sam.history[-1]
        pressed = await sam.press(label)
        await sam.send("/cancel")
        assert pressed == await sam.send(command), label
        # The press is shown on the home message, whose buttons go, as on the champion's menu.
        assert texts([home])[0].endswith(f"\n\n✓ {label}") and not home.get("reply_markup")
    await sam.send("/cancel")
    await sam.send("/help")
    await sam.press("Invite link")
    (link,) = await sam.press("One person")  # the journey goes on as the command's does
    assert link.startswith("Here is an invite link for one person.")


async def test_a_coordinator_reaches_the_champion_menu_from_home(bot: BotHarness, places: None) -> None:
    sam = await coordinator(bot, 9003)
    await sam.send("/help")
    menu, champion_help = await sam.press("Champion menu")
    assert menu == "Your champion menu:"
    assert sam.buttons() == ["Report what I heard", "Learn", "My reports"]
    assert champion_help.startswith("Here is what I can do:") and "NHS 111" in champion_help
    assert await sam.press("Report what I heard") == [TOPIC_QUESTION]


async def test_tool_buttons_are_refused_to_champions(bot: BotHarness, places: None) -> None:
    ana = bot.person(9004, "Ana")
    await join(ana)
    last = ana.history[-1]["message_id"]
    for data in ("home:stats", "home:broadcast", "home:invite", "home:pending", "home:insights"):
        assert await ana.press_data(last, data) == ["Sorry, only coordinators can do that."]
    menu, champion_help = await ana.press_data(last, "home:champion")
    assert menu == "Your champion menu:" and champion_help.startswith("Here is what I can do:")


async def test_the_champion_help_is_short_and_signposts(bot: BotHarness, places: None) -> None:
    ana = bot.person(9005, "Ana")
    await join(ana)
    (text,) = await ana.send("/help")
    lines = text.splitlines()
    assert lines[0] == "Here is what I can do:"
    assert "/timezone – set your time zone" in lines
    assert "/report – tell us what you heard in your community" in lines
    assert "/myreports – your reports and the answers" in lines
    for command in ("/learn", "/language", "/quiet", "/privacy", "/pause", "/stop", "/mydata", "/deleteme"):
        assert command in text
    assert "/pause or /resume campaign messages; /stop all messages" in lines
    assert len(lines) <= 16  # from 18 (with /timezone added)
    assert lines[-1] == (
        "This bot does not give medical advice. For urgent help call NHS 111; in an emergency call 999."
    )
    assert "/invite" not in text and "coordinator" not in text.lower()


async def test_a_coordinator_home_on_whatsapp_is_one_list(whatsapp: WhatsAppHarness, places: None) -> None:
    lina = whatsapp.person("GB.1000009006", "447700909006", "Lina")
    await lina.send("start")
    await lina.press("English")
    await lina.press("Yes, I agree")
    await lina.press("No")
    await lina.send("Lina")
    await lina.press("Northfield")
    await lina.press("Done")
    async with whatsapp.bot.sessions.begin() as session:
        identity = await session.scalar(select(Identity).where(Identity.address == lina.address))
        assert identity is not None and identity.chat_id is not None
        await champions.make_coordinator(session, identity.chat_id, None, "en")
    (home,) = await lina.send("help")
    assert lina.choices() == TOOLS
    assert len(home) <= BODY_MAX
    assert await lina.press("Pending approvals") == ["Nobody is waiting for approval."]


async def test_privacy_lists_what_is_kept_why_and_for_how_long(bot: BotHarness, places: None) -> None:
    ana = bot.person(9007, "Ana")
    await join(ana)  # agrees to sharing
    kept, choice = await ana.send("/privacy")
    assert kept.startswith("What we keep about you, and why")
    for said in (
        "the name you gave us",
        "language",
        "area and networks",
        "your reports",
        "learning",
        "Telegram",
        "WhatsApp",
        "Why:",
        "Who sees it:",
        "How long:",
        "/mydata",
        "/deleteme",
    ):
        assert said in kept, said
    assert choice.startswith("You agreed that what you report may be used")
    assert ana.buttons() == ["Stop sharing"]
    assert len(choice) <= BODY_MAX  # the message with a button fits WhatsApp's interactive body
    assert await ana.press("Stop sharing") == ["Thank you, your choice is saved."]
    stranger = bot.person(9008, "Bo")
    assert await stranger.send("/privacy") == [kept]  # before joining: what would be kept, no choice
