"""One field template for every form (settings.FORM_RENDERER): GOV.UK Frontend's form group, label or legend,
hint, error message and control, so a form's markup is written once, not per page; and `escaped`, for markup
that is joined in Python because a page draws it a thousand times."""

import html

from django.forms import BoundField
from django.forms.renderers import TemplatesSetting

# A widget's input_type (or its class name) -> GOV.UK Frontend's class for the control.
CONTROL_CLASSES = {
    "select": "govuk-select",
    "checkbox": "govuk-checkboxes__input",
    "radio": "govuk-radios__input",
    "textarea": "govuk-textarea",
    "hidden": "",
}
ERROR_CLASSES = {
    "govuk-input": "govuk-input--error",
    "govuk-select": "govuk-select--error",
    "govuk-textarea": "govuk-textarea--error",
}


class GovukBoundField(BoundField):
    """A bound field whose control carries GOV.UK Frontend's classes (and its error variant when invalid)."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        kind = getattr(widget, "input_type", None) or type(widget).__name__.lower()
        css = CONTROL_CLASSES.get(kind, "govuk-input")
        if css:
            if self.errors and css in ERROR_CLASSES:
                css = f"{css} {ERROR_CLASSES[css]}"
            attrs["class"] = f"{attrs.get('class', '')} {css}".strip()
        return attrs


class FormRenderer(TemplatesSetting):
    """Forms render through templates/forms/field.html with GovukBoundField."""

    field_template_name = "forms/field.html"
    bound_field_class = GovukBoundField


def escaped(value) -> str:
    """conditional_escape's text, without its lazy-argument check (which cost more than the escaping itself on
    a View Users page of a thousand cells): markup already marked safe as it is, anything else escaped exactly
    as Django escapes it. The caller marks the joined result safe."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
