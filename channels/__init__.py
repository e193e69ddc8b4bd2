"""The channels: WeChat Official Account (`wechat`), phone (`ivr`), web chat (`web`), the
conversation router between the bot and the agents (`router`) and the Rasa client (`rasa`)."""
