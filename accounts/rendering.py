"""One field template for every form (settings.FORM_RENDERER): GOV.UK Frontend's form group, label or legend,
hint, error message and control, so a form's markup is written once, not per page."""

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
