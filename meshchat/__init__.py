"""meshchat: a signed, replicated chat log for amateur-radio and emergency meshes."""

__version__ = "0.1.0"
