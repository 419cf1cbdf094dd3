"""GP practices by their ODS codes: the form a practice code must have, and NHS Digital's list of practices.

Others may use `service.check_practice` (form, and existence once the list is loaded) and `service.import_epraccur`.
"""
