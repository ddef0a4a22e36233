"""The use cases the handlers call: linking and email verification (`identity`,
`verification/`), breach reminders, the broadcast outbox, exports, charts, stats, the PTL view,
the patient form's fields, and the `Services` container (with the `BotContext` handlers see).

May import: `bot.rules`, `bot.messages`, `storage`, `bot.config`, `bot.hooks` and Telegram's
types where a service talks to the Bot API (the outbox and reminders send messages). Never
`handlers` or `bot.runtime`: the runtime assembles the services and hands them in.
"""
