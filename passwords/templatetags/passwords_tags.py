from django import template

from passwords.cells import password_cell as _password_cell

register = template.Library()


@register.simple_tag
def password_cell(account, can_show):
    """The Password cell of `account` on its page: {% password_cell account can_show %}."""
    return _password_cell(account=account, can_show=can_show)
