"""The WeChat Official Account channel: wechatpy does the protocol, the engine the answers."""
