//! The console's words in English and Slovenian (the seed companies'
//! languages), the templates compiled into the binary, and how times are
//! shown. A template says `{{ tr.sign_in }}`; a word missing from either
//! language fails a unit test, not a page.

use minijinja::value::{Object, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub use crate::service::documents::Lang;

/// The templates, by name (`extends` and `include` find each other by it).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("error.html", include_str!("templates/error.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("password.html", include_str!("templates/password.html")),
    ("mfa.html", include_str!("templates/mfa.html")),
    ("tenants.html", include_str!("templates/tenants.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("subjects.html", include_str!("templates/subjects.html")),
    ("subject.html", include_str!("templates/subject.html")),
    ("erased.html", include_str!("templates/erased.html")),
    ("requests.html", include_str!("templates/requests.html")),
    ("request.html", include_str!("templates/request.html")),
    ("breaches.html", include_str!("templates/breaches.html")),
    ("breach.html", include_str!("templates/breach.html")),
    ("approvals.html", include_str!("templates/approvals.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("registers.html", include_str!("templates/registers.html")),
    ("document.html", include_str!("templates/document.html")),
    ("processors.html", include_str!("templates/processors.html")),
    ("staff_register.html", include_str!("templates/staff_register.html")),
    ("consent.html", include_str!("templates/consent.html")),
    ("staff.html", include_str!("templates/staff.html")),
    ("staff_member.html", include_str!("templates/staff_member.html")),
    ("api_keys.html", include_str!("templates/api_keys.html")),
    ("policy.html", include_str!("templates/policy.html")),
    ("collections.html", include_str!("templates/collections.html")),
    ("retention.html", include_str!("templates/retention.html")),
    ("preferences.html", include_str!("templates/preferences.html")),
];

/// (key, English, Slovenian).
pub const WORDS: &[(&str, &str, &str)] = &[
    ("skip", "Skip to the content", "Preskoči na vsebino"),
    ("nav", "Main menu", "Glavni meni"),
    ("dashboard", "Dashboard", "Pregled"),
    ("subjects", "Data subjects", "Posamezniki"),
    ("subject", "Data subject", "Posameznik"),
    ("requests", "Requests", "Zahteve"),
    ("request", "Request", "Zahteva"),
    ("breaches", "Breaches", "Kršitve"),
    ("breach", "Breach", "Kršitev"),
    ("approvals", "Approvals", "Odobritve"),
    ("tenants", "Tenants", "Najemniki"),
    ("tenant", "Tenant", "Najemnik"),
    ("audit", "Audit trail", "Revizijska sled"),
    ("sign_in", "Sign in", "Prijava"),
    ("sign_out", "Sign out", "Odjava"),
    ("language", "Language", "Jezik"),
    ("change", "Change", "Spremeni"),
    ("back_home", "Back to the start", "Nazaj na začetek"),
    ("continue", "Continue", "Naprej"),
    ("username", "User name", "Uporabniško ime"),
    ("password", "Password", "Geslo"),
    ("code", "Authenticator code or recovery code", "Koda iz aplikacije ali obnovitvena koda"),
    ("code_help", "Only if your account has a second factor.", "Le če ima vaš račun drugi faktor."),
    ("code_six", "The 6-digit code from the app", "6-mestna koda iz aplikacije"),
    (
        "code_required",
        "Enter the code from your authenticator app, with your password again.",
        "Vnesite kodo iz aplikacije za preverjanje in ponovno geslo.",
    ),
    (
        "code_wrong",
        "The code did not match. A new key has been made: remove the old entry from the app and scan this one.",
        "Koda se ne ujema. Ustvarjen je nov ključ: staro vnos odstranite iz aplikacije in skenirajte tega.",
    ),
    (
        "bad_credentials",
        "Sign-in failed. Check the user name, password and code; if it keeps failing, ask an administrator.",
        "Prijava ni uspela. Preverite uporabniško ime, geslo in kodo; če ne gre, se obrnite na skrbnika.",
    ),
    (
        "rate_limited",
        "Too many attempts from this address. Wait a minute and try again.",
        "Preveč poskusov s tega naslova. Počakajte minuto in poskusite znova.",
    ),
    (
        "session_ended",
        "Your session has ended (inactive too long, or signed out elsewhere). Sign in again.",
        "Vaša seja je potekla (predolgo nedejavna ali odjavljena drugje). Prijavite se znova.",
    ),
    ("signed_out", "You have signed out.", "Odjavili ste se."),
    ("password_change", "Change password", "Sprememba gesla"),
    ("password_must", "Choose your own password before anything else.", "Pred vsem drugim si izberite lastno geslo."),
    ("password_current", "Current password", "Trenutno geslo"),
    ("password_new", "New password", "Novo geslo"),
    ("password_repeat", "New password again", "Novo geslo še enkrat"),
    ("password_mismatch", "The two new passwords differ.", "Novi gesli se ne ujemata."),
    ("password_wrong", "The current password is wrong.", "Trenutno geslo ni pravilno."),
    ("mfa_title", "Second factor (TOTP)", "Drugi faktor (TOTP)"),
    (
        "mfa_must",
        "Your organisation requires a second factor: set it up now.",
        "Vaša organizacija zahteva drugi faktor: nastavite ga zdaj.",
    ),
    ("mfa_step_scan", "Scan this code with an authenticator app.", "To kodo skenirajte z aplikacijo za preverjanje."),
    ("mfa_qr_alt", "QR code of the authenticator key", "QR koda ključa za aplikacijo"),
    ("mfa_manual", "Or type the key in:", "Ali vnesite ključ ročno:"),
    ("mfa_step_code", "Enter the code the app shows.", "Vnesite kodo, ki jo prikaže aplikacija."),
    ("mfa_confirm", "Turn on the second factor", "Vklopi drugi faktor"),
    ("mfa_done", "The second factor is on.", "Drugi faktor je vklopljen."),
    ("recovery_codes", "Recovery codes", "Obnovitvene kode"),
    (
        "recovery_codes_help",
        "Each works once instead of a code from the app. Keep them somewhere safe: they are shown only now.",
        "Vsaka deluje enkrat namesto kode iz aplikacije. Shranite jih na varno: prikazane so le zdaj.",
    ),
    ("err_forbidden", "Not permitted", "Ni dovoljeno"),
    ("err_not_found", "Not found", "Ni najdeno"),
    ("err_invalid", "Not accepted", "Ni sprejeto"),
    ("err_conflict", "Changed meanwhile", "Medtem spremenjeno"),
    ("err_restricted", "Restricted", "Omejeno"),
    ("err_unavailable", "Not available now; try again shortly.", "Trenutno ni na voljo; poskusite kmalu znova."),
    ("err_internal", "Something went wrong", "Prišlo je do napake"),
    ("err_form", "The form has expired", "Obrazec je potekel"),
    (
        "err_form_detail",
        "Nothing was changed. Go back, reload the page and send it again.",
        "Nič ni bilo spremenjeno. Vrnite se, osvežite stran in jo pošljite znova.",
    ),
    ("open_requests", "Open requests", "Odprte zahteve"),
    ("breach_clocks", "Breach clocks", "Roki kršitev"),
    ("pending_approvals", "Pending approvals", "Odobritve na čakanju"),
    ("pending", "pending", "na čakanju"),
    ("alerts", "Alerts", "Opozorila"),
    ("operations", "Operations", "Delovanje"),
    ("training_due", "Training due", "Zapadla usposabljanja"),
    ("not_permitted", "Not shown for your role.", "Za vašo vlogo ni prikazano."),
    ("none", "None.", "Ničesar."),
    ("kind", "Kind", "Vrsta"),
    ("state", "State", "Stanje"),
    ("days_left", "Days left", "Dni do roka"),
    ("due", "Due", "Rok"),
    ("overdue", "overdue", "zamuda"),
    ("audience", "To", "Komu"),
    ("ok", "ok", "v redu"),
    ("failed", "failed", "ni uspelo"),
    ("never", "never run", "še ni teklo"),
    ("audit_head", "Latest signed tree head", "Zadnja podpisana glava drevesa"),
    ("events", "events", "dogodkov"),
    ("name", "Name", "Ime"),
    ("created", "Created", "Ustvarjeno"),
    ("find_subject", "Find a data subject", "Iskanje posameznika"),
    ("identifier_kind", "Identifier", "Identifikator"),
    ("identifier_value", "Value", "Vrednost"),
    ("find", "Find", "Poišči"),
    (
        "find_help",
        "The value is sent in the form only and looked up by its keyed hash; it is not kept.",
        "Vrednost je poslana le v obrazcu in poiskana po ključeni zgoščevalni vrednosti; ni shranjena.",
    ),
    ("no_subject", "No data subject has this identifier.", "Noben posameznik nima tega identifikatorja."),
    ("subject_id", "Subject id", "Oznaka posameznika"),
    ("records", "Records", "Zapisi"),
    ("version", "version", "različica"),
    ("updated", "updated", "posodobljeno"),
    ("consents", "Consents", "Privolitve"),
    ("purpose", "Purpose", "Namen"),
    ("given", "Given", "Dana"),
    ("yes", "yes", "da"),
    ("no", "no", "ne"),
    ("withdrawn", "withdrawn", "preklicana"),
    ("channel", "Channel", "Kanal"),
    ("recorded", "Recorded", "Zabeleženo"),
    ("disclosures", "Disclosures", "Razkritja"),
    ("recipient", "Recipient", "Uporabnik"),
    ("collection", "Collection", "Zbirka"),
    ("when", "When", "Kdaj"),
    ("who_has_seen", "Who has seen this person's data", "Kdo je videl podatke te osebe"),
    ("action", "Action", "Dejanje"),
    ("outcome", "Outcome", "Izid"),
    ("staff_member", "Staff member", "Zaposleni"),
    ("erasure", "Erasure", "Izbris"),
    (
        "erasure_rules",
        "Erasing this person does this in each collection:",
        "Izbris te osebe v vsaki zbirki naredi naslednje:",
    ),
    ("erasure_delete", "the records are deleted", "zapisi se izbrišejo"),
    ("erasure_anonymise", "the records are anonymised", "zapisi se anonimizirajo"),
    ("erasure_refuse", "the records are kept by law", "zapisi se hranijo po zakonu"),
    ("keeps", "keeps", "ohrani"),
    (
        "erase_confirm",
        "I have checked the rules above; erase this person.",
        "Preveril sem zgornja pravila; izbriši to osebo.",
    ),
    ("erase", "Erase", "Izbriši"),
    ("erasure_pending", "The erasure waits for a second person's approval:", "Izbris čaka na odobritev druge osebe:"),
    ("erasure_done", "The erasure is done.", "Izbris je opravljen."),
    ("records_deleted", "Records deleted", "Izbrisani zapisi"),
    ("records_anonymised", "Records anonymised", "Anonimizirani zapisi"),
    ("subject_erased", "Nothing of the person remains", "O osebi ne ostane nič"),
    ("kept_by_law", "records kept by law", "zapisov hranjenih po zakonu"),
    ("received", "Received", "Prejeto"),
    ("open_request", "Record a new request", "Vpis nove zahteve"),
    (
        "requester_email",
        "Requester's e-mail (optional; kept only as a keyed hash)",
        "E-pošta prosilca (neobvezno; hrani se le ključena zgoščena vrednost)",
    ),
    ("verified_by", "Identity verified", "Istovetnost preverjena"),
    ("extended", "Extended", "Podaljšano"),
    ("refused_because", "Refused because", "Zavrnjeno, ker"),
    ("response", "Response", "Odgovor"),
    ("duplicate_of", "Duplicate of", "Podvojitev zahteve"),
    ("documents", "Documents", "Dokumenti"),
    ("access_report_pdf", "Access report (PDF)", "Poročilo o dostopu (PDF)"),
    ("portability_archive", "Portability archive (zip)", "Arhiv za prenosljivost (zip)"),
    ("next_steps", "Next steps", "Naslednji koraki"),
    ("step_verify", "Identity verified", "Istovetnost preverjena"),
    ("verify_method", "How the identity was verified", "Kako je bila istovetnost preverjena"),
    ("step_start", "Start work", "Začni delo"),
    ("step_complete", "Complete", "Zaključi"),
    ("response_sent", "What was sent to the person, and how", "Kaj je bilo poslano osebi in kako"),
    ("step_extend", "Extend the deadline", "Podaljšaj rok"),
    ("months", "Further months", "Dodatni meseci"),
    (
        "subject_informed",
        "The person has been told of the extension and why",
        "Oseba je bila obveščena o podaljšanju in razlogih",
    ),
    ("step_refuse", "Refuse", "Zavrni"),
    ("reason", "Reason", "Razlog"),
    ("history", "History", "Zgodovina"),
    ("hours_left", "Hours left", "Ur do roka"),
    ("breach_register", "Breach register", "Evidenca kršitev"),
    ("aware_at", "Became aware", "Seznanjenost"),
    ("risk", "Risk", "Tveganje"),
    ("risk_unlikely", "unlikely to result in a risk", "verjetno ne pomeni tveganja"),
    ("risk_risk", "a risk", "tveganje"),
    ("risk_high", "a high risk", "veliko tveganje"),
    ("risk_rationale", "Why this risk", "Utemeljitev tveganja"),
    ("description", "What happened", "Kaj se je zgodilo"),
    ("closed", "closed", "zaprto"),
    ("open", "open", "odprto"),
    ("report_breach", "Record a breach", "Vpis kršitve"),
    ("breach_kinds", "Kind of breach", "Vrsta kršitve"),
    ("found_by", "Found by", "Odkril"),
    ("found_controller", "the controller", "upravljavec"),
    ("found_processor", "the processor", "obdelovalec"),
    ("data_categories", "Categories of data (comma-separated)", "Vrste podatkov (ločene z vejico)"),
    ("subject_categories", "Categories of persons (comma-separated)", "Kategorije posameznikov (ločene z vejico)"),
    ("subjects_approx", "Approximate number of persons", "Približno število posameznikov"),
    ("measures_taken", "Measures taken", "Sprejeti ukrepi"),
    ("contact", "Contact point", "Kontaktna točka"),
    ("notified", "Notified", "Obveščeno"),
    ("notifications", "Notifications", "Obvestila"),
    ("phase", "Phase", "Faza"),
    ("sent", "Sent", "Poslano"),
    ("to", "To whom", "Komu"),
    ("summary", "Summary", "Povzetek"),
    ("late_reason", "Reasons for a delay (after 72 hours)", "Razlogi za zamudo (po 72 urah)"),
    ("deliver", "Have varuh send the notice to the controller", "Naj varuh pošlje obvestilo upravljavcu"),
    ("deliver_no", "No, recorded only", "Ne, le zabeleži"),
    ("record_notification", "Record a notification", "Vpis obvestila"),
    ("requested", "Requested", "Zahtevano"),
    ("decision", "Decision", "Odločitev"),
    ("approve", "Approve", "Odobri"),
    ("reject", "Reject", "Zavrni"),
    ("yours", "yours", "vaša"),
    ("signed", "Signed", "Podpisano"),
    ("verifier_key", "Verifier key", "Ključ za preverjanje"),
    ("last_verification", "Last verification", "Zadnje preverjanje"),
    ("checkpoint", "Signed checkpoint", "Podpisana kontrolna točka"),
    ("filter", "Filter", "Filter"),
    ("from", "From", "Od"),
    ("to_date", "To", "Do"),
    ("export", "Export (JSON Lines)", "Izvoz (JSON Lines)"),
    ("next_page", "Next page", "Naslednja stran"),
    ("kind_access", "access", "dostop"),
    ("kind_rectification", "rectification", "popravek"),
    ("kind_erasure", "erasure", "izbris"),
    ("kind_restriction", "restriction", "omejitev"),
    ("kind_portability", "portability", "prenosljivost"),
    ("kind_objection", "objection", "ugovor"),
    ("kind_confidentiality", "confidentiality", "zaupnost"),
    ("kind_integrity", "integrity", "celovitost"),
    ("kind_availability", "availability", "razpoložljivost"),
    ("state_received", "received", "prejeto"),
    ("state_verified", "verified", "preverjeno"),
    ("state_in_progress", "in progress", "v delu"),
    ("state_done", "done", "opravljeno"),
    ("state_refused", "refused", "zavrnjeno"),
    ("clock_running", "running", "teče"),
    ("clock_overdue", "overdue", "zamuda"),
    ("clock_met", "met", "pravočasno"),
    ("clock_late", "late", "prepozno"),
    ("clock_not_required", "not required", "ni potrebno"),
    ("clock_decision_due", "decision due", "potrebna odločitev"),
    ("audience_controller", "the controller", "upravljavcu"),
    ("audience_authority", "the supervisory authority", "nadzornemu organu"),
    ("audience_subjects", "the data subjects", "posameznikom"),
    ("job_backup", "Last backup", "Zadnja varnostna kopija"),
    ("job_restore_test", "Last restore test", "Zadnji preizkus obnove"),
    ("job_retention", "Last retention run", "Zadnje izvajanje hrambe"),
    ("job_audit_verify", "Last audit verification", "Zadnje preverjanje revizijske sledi"),
    ("role_administrator", "administrator", "skrbnik"),
    ("role_dpo", "DPO", "pooblaščena oseba"),
    ("role_operator", "operator", "operater"),
    ("role_auditor", "auditor", "revizor"),
    ("role_service", "service", "storitev"),
    ("account", "Account", "Račun"),
    ("account_actions", "Actions on the account", "Dejanja na računu"),
    ("account_active", "active", "aktiven"),
    ("account_suspended", "suspended", "začasno onemogočen"),
    ("account_offboarded", "offboarded", "odjavljen iz organizacije"),
    ("account_created", "Account created:", "Račun ustvarjen:"),
    ("accounts_not_in_register", "Accounts of people that the register does not cover:", "Računi oseb, ki jih evidenca ne zajema:"),
    ("administration", "Administration", "Upravljanje"),
    ("all_purposes", "every purpose", "vsi nameni"),
    ("allow_special", "May hold special categories of data (Art. 9)", "Lahko hrani posebne vrste podatkov (člen 9)"),
    ("api_key_created", "The API key:", "Ključ API:"),
    ("api_keys", "API keys", "Ključi API"),
    ("collections", "Collections", "Zbirke"),
    ("confidentiality", "Confidentiality statement", "Izjava o zaupnosti"),
    ("consent_and_recipients", "Consent notices and recipients", "Obvestila o privolitvi in uporabniki"),
    ("consent_notices", "Consent notices", "Obvestila o privolitvi"),
    ("create", "Create", "Ustvari"),
    ("definition", "Definition", "Opredelitev"),
    ("definition_json", "Definition (JSON, as the API takes it)", "Opredelitev (JSON, kot jo sprejme API)"),
    ("direct_marketing", "Direct marketing", "Neposredno trženje"),
    ("done", "Done.", "Opravljeno."),
    ("dpa_signed", "Contract signed", "Pogodba podpisana"),
    ("expires", "Expires", "Poteče"),
    ("fields", "Fields", "Polja"),
    ("grants_help", "Operations per collection, e.g. {\"grants\": {\"customers\": [\"read\"]}, \"masks\": {\"customers\": [\"phone\"]}}.", "Dovoljenja po zbirkah, npr. {\"grants\": {\"customers\": [\"read\"]}, \"masks\": {\"customers\": [\"phone\"]}}."),
    ("grants_json", "Grants and field masks (JSON)", "Dovoljenja in maske polj (JSON)"),
    ("held_for_approval", "The change waits for a second person's approval:", "Sprememba čaka na odobritev druge osebe:"),
    ("last_sign_in", "Last sign-in", "Zadnja prijava"),
    ("last_used", "Last used", "Zadnja uporaba"),
    ("left", "Left", "Odšel"),
    ("legal_basis", "Legal basis", "Pravna podlaga"),
    ("lift", "Lift", "Odpravi"),
    ("limit_restriction", "restriction of processing", "omejitev obdelave"),
    ("limit_objection", "objection", "ugovor"),
    ("limits", "Restrictions and objections", "Omejitve in ugovori"),
    ("locations", "Locations", "Lokacije"),
    ("locked", "locked", "zaklenjen"),
    ("new_account", "New account", "Nov račun"),
    ("new_api_key", "New API key", "Nov ključ API"),
    ("new_collection", "New collection", "Nova zbirka"),
    ("new_tenant", "New tenant", "Nov najemnik"),
    ("no_service_account", "Create a service account first: keys belong to one.", "Najprej ustvarite storitveni račun: ključi pripadajo njemu."),
    ("note", "Note", "Opomba"),
    ("offboarding", "Offboarding", "Odhod iz organizacije"),
    ("offboarding_help", "Offboarding ends every session and key of the account and records the checklist:", "Odhod konča vse seje in ključe računa in zabeleži kontrolni seznam:"),
    ("one_time_password", "One-time password:", "Enkratno geslo:"),
    ("op_suspend", "Suspend", "Začasno onemogoči"),
    ("op_reactivate", "Reactivate", "Ponovno omogoči"),
    ("op_unlock", "Unlock", "Odkleni"),
    ("op_reset-password", "Reset the password", "Ponastavi geslo"),
    ("op_reset-mfa", "Reset the second factor", "Ponastavi drugi faktor"),
    ("op_offboard", "Offboard", "Odjavi iz organizacije"),
    ("policy", "Security policy", "Varnostna politika"),
    ("policy_help", "Password, second factor, sessions, lockout, allowed networks and four-eyes operations. A refusal names the rule; nothing changes until it is accepted.", "Geslo, drugi faktor, seje, zaklepanje, dovoljena omrežja in dejanja štirih oči. Zavrnitev navede pravilo; nič se ne spremeni, dokler ni sprejeta."),
    ("policy_toml", "Policy (TOML)", "Politika (TOML)"),
    ("position", "Position", "Delovno mesto"),
    ("processors", "Processors", "Obdelovalci"),
    ("purposes_comma", "Purposes (comma-separated; none: every purpose)", "Nameni (ločeni z vejico; brez: vsi nameni)"),
    ("recipients", "Recipients", "Uporabniki"),
    ("rectify", "Rectify", "Popravi"),
    ("registers", "Registers", "Evidence"),
    ("retention", "Retention", "Hramba"),
    ("review_due", "Review due", "Rok pregleda"),
    ("revoke", "Revoke", "Prekliči"),
    ("revoked", "revoked", "preklican"),
    ("role", "Role", "Vloga"),
    ("role_and_grants", "Role, grants and field masks", "Vloga, dovoljenja in maske polj"),
    ("ropa", "Records of processing activities", "Evidenca dejavnosti obdelave"),
    ("save", "Save", "Shrani"),
    ("saved", "Saved.", "Shranjeno."),
    ("service", "Service", "Storitev"),
    ("service_account", "Service account", "Storitveni račun"),
    ("set_limit", "Record", "Zabeleži"),
    ("shown_once", "It is shown only now: pass it on safely.", "Prikazano je le zdaj: varno ga posredujte."),
    ("staff", "Staff", "Zaposleni"),
    ("staff_register", "Staff register", "Evidenca zaposlenih"),
    ("started", "Started", "Začetek"),
    ("text", "Text", "Besedilo"),
    ("toms", "Technical and organisational measures", "Tehnični in organizacijski ukrepi"),
    ("trainings", "Trainings", "Usposabljanja"),
    ("under_request", "Under request (id, optional)", "V okviru zahteve (oznaka, neobvezno)"),
    ("unregistered_processors", "Processors named by a collection but not in the register:", "Obdelovalci, navedeni v zbirki, a ne v evidenci:"),
    ("preferences", "Preferences", "Nastavitve"),
    ("time_zone", "Time zone (IANA name)", "Časovni pas (ime IANA)"),
    ("browser_language", "The browser's", "Kot brskalnik"),
    ("acting_under", "Acting under the request", "Dejanje v okviru zahteve"),
    ("act_on_subject", "Act on the data subject (erase, rectify, restrict) under this request", "Ukrepaj glede posameznika (izbris, popravek, omejitev) v okviru te zahteve"),
    ("shared_value", "The people who share this value", "Osebe, ki si delijo to vrednost"),
    ("more_subjects", "More people share it than are listed: make the search narrower.", "Več oseb si jo deli, kot jih je prikazanih: zožite iskanje."),
    ("kind_help", "An identifier (e-mail, customer number) names one person; a searchable field (a shared phone) may name several.", "Identifikator (e-pošta, številka stranke) označuje eno osebo; iskalno polje (skupni telefon) jih lahko več."),
    ("record_consent", "Record a consent or its withdrawal", "Zabeleži privolitev ali njen preklic"),
    ("consent_notice", "Consent notice (purpose)", "Obvestilo o privolitvi (namen)"),
    ("notice_version", "Version of the notice shown", "Prikazana različica obvestila"),
    ("evidence", "Evidence (e.g. the signed form's reference)", "Dokaz (npr. oznaka podpisanega obrazca)"),
    ("record_disclosure", "Record a disclosure", "Zabeleži razkritje"),
    ("fields_comma", "Fields disclosed (comma-separated)", "Razkrita polja (ločena z vejico)"),
    ("system_staff", "System staff", "Sistemsko osebje"),
    ("dry_run_report", "What a sweep would do now (dry run)", "Kaj bi izvajanje hrambe naredilo zdaj (preizkus)"),
    ("sweep_report", "What the sweep did", "Kaj je izvajanje hrambe naredilo"),
    ("expired", "Expired", "Poteklo"),
    ("held", "Kept by a hold", "Zadržano"),
    ("dry_run", "Dry run", "Preizkus"),
    ("sweep_now", "Delete what has expired now", "Izbriši zdaj, kar je poteklo"),
    ("legal_holds", "Legal holds", "Pravna zadržanja"),
    ("target", "On", "Na"),
    ("until", "Until", "Do"),
    ("active", "active", "dejavno"),
    ("lifted", "lifted", "odpravljeno"),
    ("new_hold", "New legal hold", "Novo pravno zadržanje"),
    ("hold_on", "Hold on a", "Zadržanje na"),
    ("record", "Record", "Zapis"),
    ("hold_target", "The subject's or record's id, or the collection's name", "Oznaka posameznika ali zapisa ali ime zbirke"),
    ("set_hold", "Set the hold", "Določi zadržanje"),
    ("valid_days", "Valid for days", "Veljavnost v dneh"),
];

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sl => "sl",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "sl" => Some(Lang::Sl),
            _ => None,
        }
    }
}

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static T: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    T.get_or_init(|| WORDS.iter().map(|(k, en, sl)| (*k, (*en, *sl))).collect())
}

/// The words of one language, for templates (`tr.key`) and handlers.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    /// The word for `key`; nothing if there is none (a test keeps that
    /// from happening).
    pub fn get(self, key: &str) -> &'static str {
        match table().get(key) {
            Some((en, sl)) => {
                if self.0 == Lang::Sl {
                    sl
                } else {
                    en
                }
            }
            None => "",
        }
    }
}

impl Object for Tr {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        table().get(k).map(|(en, sl)| Value::from(if self.0 == Lang::Sl { *sl } else { *en }))
    }
}

/// A time as the console shows it: in the staff member's time zone (UTC
/// when none is chosen or the name is unknown), to the minute, with the
/// zone's abbreviation.
pub fn when(ms: i64, zone: Option<&str>) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else { return String::new() };
    let tz = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
    let at = ts.to_zoned(tz);
    let abbr = at.time_zone().to_offset_info(ts).abbreviation().to_string();
    format!("{} {abbr}", at.strftime("%Y-%m-%d %H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word a template or a page asks for exists in both languages,
    /// once; the dynamic ones (`tr["kind_" ~ …]`) by their known values.
    #[test]
    fn every_word_is_in_both_languages() {
        let mut keys = std::collections::BTreeSet::new();
        for (_, src) in TEMPLATES {
            for part in src.split("tr.").skip(1) {
                let k: String = part.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !k.is_empty() {
                    keys.insert(k);
                }
            }
        }
        for src in [
            include_str!("shell.rs"),
            include_str!("sign_in.rs"),
            include_str!("dashboard.rs"),
            include_str!("subjects.rs"),
            include_str!("requests.rs"),
            include_str!("breaches.rs"),
            include_str!("approvals.rs"),
            include_str!("audit.rs"),
            include_str!("admin.rs"),
            include_str!("registers.rs"),
            include_str!("retention.rs"),
        ] {
            for part in src.split("get(\"").skip(1) {
                let k: String = part.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                keys.insert(k);
            }
        }
        let dynamic: &[(&str, &[&str])] = &[
            ("kind_", &["access", "rectification", "erasure", "restriction", "portability", "objection"]),
            ("kind_", &["confidentiality", "integrity", "availability"]),
            ("state_", &["received", "verified", "in_progress", "done", "refused"]),
            ("clock_", &["running", "overdue", "met", "late", "not_required", "decision_due"]),
            ("erasure_", &["delete", "anonymise", "refuse"]),
            ("job_", &["backup", "restore_test", "retention", "audit_verify"]),
            ("role_", &["administrator", "dpo", "operator", "auditor", "service"]),
            ("audience_", &["controller", "authority", "subjects"]),
            ("found_", &["controller", "processor"]),
            ("risk_", &["unlikely", "risk", "high"]),
            ("account_", &["active", "suspended", "offboarded"]),
            ("op_", &["suspend", "reactivate", "unlock", "reset-password", "reset-mfa", "offboard"]),
            ("limit_", &["restriction", "objection"]),
        ];
        for (prefix, values) in dynamic {
            for v in *values {
                keys.insert(format!("{prefix}{v}"));
            }
        }
        let missing: Vec<&String> = keys.iter().filter(|k| !table().contains_key(k.as_str())).collect();
        assert!(missing.is_empty(), "words missing: {missing:?}");
        let mut seen = std::collections::HashSet::new();
        for (k, en, sl) in WORDS {
            assert!(seen.insert(*k), "{k} twice");
            assert!(!en.is_empty() && !sl.is_empty(), "{k} is empty in a language");
        }
    }

    #[test]
    fn times_are_shown_in_the_chosen_zone() {
        let ms = 1_780_000_000_000; // 2026-05-28T20:26:40Z
        assert_eq!(when(ms, None), "2026-05-28 20:26 UTC");
        assert_eq!(when(ms, Some("Europe/Ljubljana")), "2026-05-28 22:26 CEST");
        assert_eq!(when(ms, Some("Not/AZone")), "2026-05-28 20:26 UTC");
    }

    #[test]
    fn every_template_compiles_and_its_filters_exist() {
        let mut env = minijinja::Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // A filter is looked up only when rendered: try each one used.
        env.add_filter("when", |v: minijinja::Value| v.to_string());
        for (name, src) in TEMPLATES {
            for part in src.split('|').skip(1) {
                let f: String = part.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if f.is_empty() {
                    continue;
                }
                let probe = format!("{{{{ 1|{f} }}}}");
                if let Err(e) = env.render_str(&probe, ()) {
                    assert_ne!(e.kind(), minijinja::ErrorKind::UnknownFilter, "{name}: filter {f}: {e}");
                }
            }
        }
    }
}
