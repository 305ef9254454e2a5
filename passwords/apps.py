from django.apps import AppConfig


class PasswordsConfig(AppConfig):
    name = "passwords"

    def ready(self):
        # Imported here, as Django's docs do: these modules need the app registry this method completes.
        from accounts.selectors import user_list_row_register
        from passwords.cells import password_cells_fill

        # The Password column of View Users: every row's cell from one query per page.
        user_list_row_register("password", password_cells_fill)
