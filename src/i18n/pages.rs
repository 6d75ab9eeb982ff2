//! The texts of the HTML pages (sign-in, second step, consent, reset, sign-out, federation
//! errors, account pages, admin console), in English and Russian. Templates read them as fields
//! (`{{ ui.sign_in }}`), so a template naming a text that does not exist does not compile, and
//! the macro takes no text without both languages. `{name}` marks a value filled in by
//! [`super::fill`]; a test checks that both languages use the same names.

macro_rules! texts {
    ($($key:ident => { en: $en:literal, ru: $ru:literal $(,)? },)*) => {
        /// Every text of the pages in one language.
        #[derive(Debug)]
        pub struct Texts {
            $(pub $key: &'static str,)*
        }

        pub static EN: Texts = Texts { $($key: $en,)* };
        pub static RU: Texts = Texts { $($key: $ru,)* };

        impl Texts {
            /// `(key, text)` of every text, for tests.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key),)*]
            }
        }
    };
}

texts! {
    // --- chrome and common ---
    language => { en: "Language", ru: "Язык" },
    something_wrong => { en: "Something went wrong", ru: "Что-то пошло не так" },
    unavailable => {
        en: "Sign-in is unavailable right now. Try again shortly.",
        ru: "Вход сейчас недоступен. Повторите попытку чуть позже.",
    },
    form_expired => {
        en: "The form has expired. Reload the page and try again.",
        ru: "Срок действия формы истёк. Обновите страницу и повторите попытку.",
    },
    too_many_from_network => {
        en: "Too many attempts from your network. Try again in {wait}.",
        ru: "Слишком много попыток из вашей сети. Повторите через {wait}.",
    },
    unit_second => { en: "second|seconds", ru: "секунду|секунды|секунд" },
    unit_minute => { en: "minute|minutes", ru: "минуту|минуты|минут" },
    unit_hour => { en: "hour|hours", ru: "час|часа|часов" },
    key_label => { en: "Key:", ru: "Ключ:" },
    code_from_app => { en: "Code from the app", ru: "Код из приложения" },
    verify => { en: "Verify", ru: "Подтвердить" },
    keep_recovery_codes => {
        en: "Keep these recovery codes somewhere safe. Each works once if you lose the authenticator:",
        ru: "Сохраните эти коды восстановления в надёжном месте. Каждый срабатывает один раз, если вы потеряете аутентификатор:",
    },
    sign_in_first => {
        en: "Sign in first, then come back to this page.",
        ru: "Сначала войдите, затем вернитесь на эту страницу.",
    },
    sign_in_link => { en: "Sign in", ru: "Войти" },

    // --- sign-in ---
    sign_in_title => { en: "Sign in", ru: "Вход" },
    continue_to => { en: "to continue to", ru: "чтобы продолжить в" },
    username_or_email => { en: "Username or email", ru: "Имя пользователя или почта" },
    password => { en: "Password", ru: "Пароль" },
    sign_in_button => { en: "Sign in", ru: "Войти" },
    forgot_password => { en: "Forgot your password?", ru: "Забыли пароль?" },
    company_heading => { en: "Sign in with your company", ru: "Вход через вашу компанию" },
    company_label => { en: "Work email or company ID", ru: "Рабочая почта или ID компании" },
    company_button => { en: "Continue with your company", ru: "Продолжить через компанию" },
    invalid_credentials => {
        en: "Invalid username or password.",
        ru: "Неверное имя пользователя или пароль.",
    },
    too_many_failed => {
        en: "Too many failed attempts. Try again in {wait} or reset your password.",
        ru: "Слишком много неудачных попыток. Повторите через {wait} или сбросьте пароль.",
    },
    signin_busy => {
        en: "Another sign-in to this account is being checked. Try again in a moment.",
        ru: "Другой вход в этот аккаунт сейчас проверяется. Повторите через мгновение.",
    },
    request_expired => {
        en: "This sign-in request has expired. Go back to the application and start again.",
        ru: "Срок этого запроса на вход истёк. Вернитесь в приложение и начните заново.",
    },
    cannot_sign_in => {
        en: "This account cannot sign in now.",
        ru: "Этот аккаунт сейчас не может войти.",
    },
    signed_in_title => { en: "Signed in", ru: "Вход выполнен" },
    signed_in => { en: "You are signed in.", ru: "Вы вошли." },
    authorize_malformed => {
        en: "The authorization request is malformed (a parameter may be repeated).",
        ru: "Запрос авторизации составлен неверно (возможно, параметр повторяется).",
    },
    authorize_refused => {
        en: "The application's request cannot be served. Details for its developers: {detail}",
        ru: "Запрос приложения не может быть выполнен. Подробности для его разработчиков: {detail}",
    },

    // --- second step ---
    two_step_title => { en: "Two-step verification", ru: "Двухэтапная проверка" },
    must_enrol => {
        en: "Your account needs a second factor. Scan this code with an authenticator app (or type the key), then enter the six-digit code it shows.",
        ru: "Для вашего аккаунта нужен второй фактор. Отсканируйте этот код приложением-аутентификатором (или введите ключ), затем введите шестизначный код, который оно покажет.",
    },
    turn_on_and_continue => { en: "Turn on and continue", ru: "Включить и продолжить" },
    code_from_authenticator => {
        en: "Code from your authenticator app",
        ru: "Код из приложения-аутентификатора",
    },
    send_code_to => { en: "Send a code to {target}", ru: "Отправить код на {target}" },
    code_we_sent => { en: "Code we sent you", ru: "Код, который мы отправили" },
    use_recovery_code => { en: "Use a recovery code", ru: "Использовать код восстановления" },
    recovery_code => { en: "Recovery code", ru: "Код восстановления" },
    signin_gone => {
        en: "This sign-in has expired. Go back to the application and sign in again.",
        ru: "Срок этого входа истёк. Вернитесь в приложение и войдите снова.",
    },
    choose_method => { en: "Choose how to verify.", ru: "Выберите способ проверки." },
    choose_destination => { en: "Choose where to send the code.", ru: "Выберите, куда отправить код." },
    code_invalid => { en: "The code is not valid.", ru: "Код неверен." },
    too_many_codes => {
        en: "Too many wrong codes. Try again in {wait}.",
        ru: "Слишком много неверных кодов. Повторите через {wait}.",
    },
    code_busy => {
        en: "Another code is being checked. Go back and try again in a moment.",
        ru: "Сейчас проверяется другой код. Вернитесь и повторите через мгновение.",
    },
    code_cooldown => {
        en: "A code was sent a moment ago. You can ask for another in {wait}.",
        ru: "Код только что отправлен. Новый можно запросить через {wait}.",
    },
    code_budget => {
        en: "Too many codes were sent today. Use another method or try again tomorrow.",
        ru: "Сегодня отправлено слишком много кодов. Выберите другой способ или повторите завтра.",
    },
    code_no_destination => {
        en: "There is no verified destination for this method.",
        ru: "Для этого способа нет подтверждённого адреса.",
    },
    code_not_sent => {
        en: "The code could not be sent. Try again shortly or use another method.",
        ru: "Не удалось отправить код. Повторите чуть позже или выберите другой способ.",
    },

    // --- consent ---
    consent_title => { en: "Allow access", ru: "Разрешить доступ" },
    consent_heading => { en: "Allow access?", ru: "Разрешить доступ?" },
    consent_asks => { en: "asks to:", ru: "запрашивает разрешение:" },
    allow => { en: "Allow", ru: "Разрешить" },
    deny => { en: "Deny", ru: "Отклонить" },
    scope_openid => { en: "know who you are", ru: "знать, кто вы" },
    scope_profile => {
        en: "see your name, username and profile (language, time zone, picture…)",
        ru: "видеть ваше имя, имя пользователя и профиль (язык, часовой пояс, фото…)",
    },
    scope_email => { en: "see your email address", ru: "видеть адрес вашей почты" },
    scope_phone => { en: "see your phone number", ru: "видеть ваш номер телефона" },
    scope_address => { en: "see your postal address", ru: "видеть ваш почтовый адрес" },
    scope_offline_access => {
        en: "stay signed in and act for you while you are away",
        ru: "оставаться в системе и действовать от вашего имени, пока вас нет",
    },
    scope_other => {
        en: "use the “{scope}” scope on this platform",
        ru: "использовать область доступа «{scope}» на этой платформе",
    },
    scope_permission => {
        en: "{verb} {what} for you (only as far as you may yourself)",
        ru: "{verb} «{what}» от вашего имени (только в пределах ваших прав)",
    },
    verb_create => { en: "create", ru: "создавать" },
    verb_read => { en: "view", ru: "просматривать" },
    verb_update => { en: "change", ru: "изменять" },
    verb_delete => { en: "delete", ru: "удалять" },
    verb_all => { en: "view, create, change and delete", ru: "просматривать, создавать, изменять и удалять" },

    // --- password reset ---
    reset_title => { en: "Reset your password", ru: "Сброс пароля" },
    reset_sent => {
        en: "If an account matches, we have sent a link to its email address. It works once, for 30 minutes.",
        ru: "Если такой аккаунт есть, мы отправили ссылку на его почту. Она действует один раз, 30 минут.",
    },
    send_reset_link => { en: "Send a reset link", ru: "Отправить ссылку для сброса" },
    back_to_sign_in => { en: "Back to sign in", ru: "Вернуться ко входу" },
    new_password_title => { en: "Choose a new password", ru: "Новый пароль" },
    new_password_label => {
        en: "New password (at least {min} characters)",
        ru: "Новый пароль (не короче {min} символов)",
    },
    set_new_password => { en: "Set the new password", ru: "Сохранить новый пароль" },
    reset_gone => {
        en: "This reset link is invalid, used or expired. Ask for a new one.",
        ru: "Ссылка для сброса неверна, уже использована или устарела. Запросите новую.",
    },
    password_changed_title => { en: "Password changed", ru: "Пароль изменён" },
    password_changed => {
        en: "Your password is changed and you are signed out everywhere. Sign in with the new password.",
        ru: "Пароль изменён, и вы вышли на всех устройствах. Войдите с новым паролем.",
    },
    weak_too_long => {
        en: "The new password is longer than {max} bytes, which cannot be used.",
        ru: "Новый пароль длиннее {max} байт, такой использовать нельзя.",
    },
    weak_too_short => {
        en: "The new password must be at least {min} characters.",
        ru: "Новый пароль должен быть не короче {min} символов.",
    },
    weak_blank => {
        en: "The new password must not be blank or contain control characters.",
        ru: "Новый пароль не может быть пустым или содержать управляющие символы.",
    },
    weak_personal => {
        en: "The new password must not be your username or email address.",
        ru: "Новый пароль не может совпадать с именем пользователя или адресом почты.",
    },
    weak_common => {
        en: "The new password is one of the most commonly used passwords; choose another.",
        ru: "Новый пароль — один из самых распространённых; выберите другой.",
    },

    // --- sign-out ---
    sign_out_title => { en: "Sign out", ru: "Выход" },
    sign_out_heading => { en: "Sign out?", ru: "Выйти?" },
    asks_sign_out => { en: "asks you to sign out.", ru: "просит вас выйти." },
    sign_out_button => { en: "Sign out", ru: "Выйти" },
    signed_out_title => { en: "Signed out", ru: "Выход выполнен" },
    signed_out => { en: "You are signed out.", ru: "Вы вышли." },
    logout_malformed => { en: "The logout request is malformed.", ru: "Запрос на выход составлен неверно." },
    logout_hint_invalid => { en: "The id_token_hint is not valid.", ru: "Параметр id_token_hint недействителен." },
    logout_client_mismatch => {
        en: "client_id does not match the id_token_hint.",
        ru: "client_id не соответствует id_token_hint.",
    },
    logout_unknown_client => { en: "Unknown client.", ru: "Неизвестное приложение." },
    logout_uri_unregistered => {
        en: "post_logout_redirect_uri is not registered for this client.",
        ru: "post_logout_redirect_uri не зарегистрирован для этого приложения.",
    },
    logout_unavailable => {
        en: "Sign-out is unavailable right now. Try again shortly.",
        ru: "Выход сейчас недоступен. Повторите попытку чуть позже.",
    },

    // --- form_post ---
    signing_you_in_title => { en: "Signing you in", ru: "Выполняется вход" },
    signing_you_in => { en: "Signing you in…", ru: "Выполняется вход…" },
    scripts_off => {
        en: "Scripts are off in this browser: continue to the application yourself.",
        ru: "В этом браузере отключены скрипты: перейдите в приложение сами.",
    },
    continue_button => { en: "Continue", ru: "Продолжить" },

    // --- federation ---
    company_failed => { en: "Company sign-in failed", ru: "Не удалось войти через компанию" },
    back_to_sign_in_page => { en: "Back to sign-in", ru: "Вернуться ко входу" },
    fed_no_company => {
        en: "No company sign-in is set up for that email domain or company. Sign in with your username and password.",
        ru: "Для этого домена почты или компании вход через компанию не настроен. Войдите с именем пользователя и паролем.",
    },
    fed_expired => {
        en: "This sign-in has expired or was already completed. Start again.",
        ru: "Срок этого входа истёк, или он уже завершён. Начните заново.",
    },
    fed_wrong_issuer => {
        en: "The answer did not come from the identity provider this sign-in was sent to. Start again.",
        ru: "Ответ пришёл не от того поставщика удостоверений, к которому был направлен вход. Начните заново.",
    },
    fed_disabled => {
        en: "Company sign-in is turned off for your organisation. Ask your administrator.",
        ru: "Вход через компанию отключён для вашей организации. Обратитесь к администратору.",
    },
    fed_cancelled => {
        en: "Sign-in was cancelled at your company's identity provider.",
        ru: "Вход отменён у поставщика удостоверений вашей компании.",
    },
    fed_upstream_error => {
        en: "Your company's identity provider reported an error. Try again, or ask your administrator.",
        ru: "Поставщик удостоверений вашей компании сообщил об ошибке. Повторите попытку или обратитесь к администратору.",
    },
    fed_code_refused => {
        en: "Your company's identity provider did not accept this sign-in (it may have been used already). Start again.",
        ru: "Поставщик удостоверений вашей компании не принял этот вход (возможно, он уже использован). Начните заново.",
    },
    fed_unverifiable => {
        en: "Your company's identity provider sent an answer that could not be verified. Ask your administrator.",
        ru: "Поставщик удостоверений вашей компании прислал ответ, который не удалось проверить. Обратитесь к администратору.",
    },
    fed_unreachable => {
        en: "Your company's identity provider could not be reached. Try again later.",
        ru: "Поставщик удостоверений вашей компании недоступен. Повторите попытку позже.",
    },
    fed_misconfigured => {
        en: "Company sign-in is not configured correctly. Ask your administrator.",
        ru: "Вход через компанию настроен неверно. Обратитесь к администратору.",
    },
    fed_not_provisioned => {
        en: "Your company account has no access to this service yet. Ask your administrator.",
        ru: "У учётной записи вашей компании пока нет доступа к этому сервису. Обратитесь к администратору.",
    },
    fed_not_member => {
        en: "This identity does not belong to your company's directory. Sign in with your work account.",
        ru: "Эта учётная запись не входит в каталог вашей компании. Войдите с рабочей учётной записью.",
    },
    fed_address_taken => {
        en: "Your work email address is already used by another user here. Ask your administrator.",
        ru: "Ваш рабочий адрес почты здесь уже занят другим пользователем. Обратитесь к администратору.",
    },
    fed_blocked => {
        en: "This account is blocked. Contact your administrator.",
        ru: "Этот аккаунт заблокирован. Обратитесь к администратору.",
    },
    fed_inactive => {
        en: "This account is not active here. Contact your administrator.",
        ru: "Этот аккаунт здесь не активен. Обратитесь к администратору.",
    },

    // --- account: sign-in security ---
    security_title => { en: "Sign-in security", ru: "Безопасность входа" },
    second_factors => { en: "Second factors", ru: "Вторые факторы" },
    no_factors => {
        en: "None yet: your password alone protects this account.",
        ru: "Пока нет: аккаунт защищён только паролем.",
    },
    scan_code => {
        en: "Scan this code with an authenticator app (or type the key), then enter the six-digit code it shows.",
        ru: "Отсканируйте этот код приложением-аутентификатором (или введите ключ), затем введите шестизначный код, который оно покажет.",
    },
    turn_on => { en: "Turn on", ru: "Включить" },
    confirm_identity => {
        en: "If you signed in more than ten minutes ago, confirm it is you:",
        ru: "Если вы вошли больше десяти минут назад, подтвердите, что это вы:",
    },
    current_password => { en: "Current password", ru: "Текущий пароль" },
    second_factor_code => {
        en: "Code from your second factor (or a recovery code)",
        ru: "Код второго фактора (или код восстановления)",
    },
    set_up_authenticator => { en: "Set up an authenticator app", ru: "Подключить приложение-аутентификатор" },
    factor_totp => { en: "Authenticator app", ru: "Приложение-аутентификатор" },
    factor_email => { en: "Codes by email to", ru: "Коды по почте на" },
    factor_sms => { en: "Codes by SMS to", ru: "Коды по SMS на" },
    authenticator_on => {
        en: "The authenticator app is on: sign-ins now ask for its code.",
        ru: "Приложение-аутентификатор подключено: теперь при входе запрашивается его код.",
    },
    code_mismatch => {
        en: "The code does not match. Check the app's clock and try the next code.",
        ru: "Код не подходит. Проверьте время на устройстве и попробуйте следующий код.",
    },
    start_again => { en: "Start the set-up again.", ru: "Начните настройку заново." },
    remove_factor => { en: "Remove", ru: "Удалить" },
    factor_removed => { en: "The second factor is removed.", ru: "Второй фактор удалён." },
    factor_required => {
        en: "Your role or company requires a second factor: add another one before removing this one.",
        ru: "Ваша роль или компания требует второй фактор: добавьте другой, прежде чем удалять этот.",
    },
    recovery_heading => { en: "Recovery codes", ru: "Коды восстановления" },
    recovery_note => {
        en: "New codes replace the old ones, which stop working at once.",
        ru: "Новые коды заменяют старые, и те сразу перестают работать.",
    },
    new_recovery_codes => { en: "Make new recovery codes", ru: "Создать новые коды восстановления" },
    codes_made => {
        en: "New recovery codes are made; the old ones no longer work.",
        ru: "Созданы новые коды восстановления; старые больше не действуют.",
    },
    proof_note => {
        en: "If you signed in more than ten minutes ago, confirm it is you with each change below.",
        ru: "Если вы вошли больше десяти минут назад, подтверждайте каждое изменение ниже.",
    },
    unknown_action => { en: "Unknown action.", ru: "Неизвестное действие." },
    step_up_needed => {
        en: "To change how you sign in, enter your current password (and a code from your second factor, if you have one), or sign out and sign in again.",
        ru: "Чтобы изменить способ входа, введите текущий пароль (и код второго фактора, если он есть) или выйдите и войдите снова.",
    },

    // --- account ---
    account_title => { en: "Your account", ru: "Ваш аккаунт" },
    profile_heading => { en: "Profile", ru: "Профиль" },
    username_label => { en: "Username", ru: "Имя пользователя" },
    name_label => { en: "Name", ru: "Имя" },
    email_label => { en: "Email", ru: "Почта" },
    phone_label => { en: "Phone (international form, +7…)", ru: "Телефон (в международном виде, +7…)" },
    verified => { en: "verified", ru: "подтверждён" },
    not_verified => { en: "not verified", ru: "не подтверждён" },
    locale_label => { en: "Language of mails and SMS", ru: "Язык писем и SMS" },
    locale_default => { en: "The service's default", ru: "Как по умолчанию в сервисе" },
    contact_proof => {
        en: "To change the email or phone after more than ten minutes signed in, confirm it is you:",
        ru: "Чтобы сменить почту или телефон спустя десять минут после входа, подтвердите, что это вы:",
    },
    save => { en: "Save", ru: "Сохранить" },
    profile_saved => { en: "Your profile is saved.", ru: "Профиль сохранён." },
    pending_contact => {
        en: "{value} is waiting for its code: we sent one there.",
        ru: "{value} ждёт подтверждения: мы отправили туда код.",
    },
    code_sent_to => { en: "Code sent to {value}", ru: "Код, отправленный на {value}" },
    confirm => { en: "Confirm", ru: "Подтвердить" },
    code_sent_again => { en: "We sent a new code.", ru: "Мы отправили новый код." },
    send_again => { en: "Send the code again", ru: "Отправить код ещё раз" },
    contact_confirmed => { en: "Confirmed: it is now on your account.", ru: "Подтверждено: теперь это в вашем аккаунте." },
    invalid_email => { en: "This is not an email address.", ru: "Это не адрес почты." },
    invalid_phone => {
        en: "Write the phone in international form, for example +79161234567.",
        ru: "Укажите телефон в международном виде, например +79161234567.",
    },
    invalid_name => { en: "The name is empty or too long.", ru: "Имя пустое или слишком длинное." },
    invalid_value => { en: "A value is not valid: {detail}", ru: "Значение неверно: {detail}" },
    email_taken => {
        en: "This email is already used by another user.",
        ru: "Этот адрес уже используется другим пользователем.",
    },
    contact_factor_required => {
        en: "Your role or company requires a second factor, and the codes to this email or phone are your last one: add another factor before changing it.",
        ru: "Ваша роль или компания требует второй фактор, а коды на этот адрес или номер — ваш последний: добавьте другой фактор, прежде чем менять его.",
    },
    password_heading => { en: "Password", ru: "Пароль" },
    change_password => { en: "Change the password", ru: "Сменить пароль" },
    factors_link => { en: "Second factors and recovery codes", ru: "Вторые факторы и коды восстановления" },
    sessions_heading => { en: "Signed-in browsers", ru: "Браузеры, где выполнен вход" },
    session_label => { en: "Session {id}", ru: "Сеанс {id}" },
    this_browser => { en: "(this browser)", ru: "(этот браузер)" },
    end_session => { en: "Sign out", ru: "Выйти" },
    end_session_label => { en: "Sign out of session {id}", ru: "Выйти из сеанса {id}" },
    session_ended => { en: "That session is signed out.", ru: "Этот сеанс завершён." },
    no_session => { en: "No such session.", ru: "Такого сеанса нет." },
    events_heading => { en: "Recent security events", ru: "Недавние события безопасности" },
    no_events => { en: "None yet.", ru: "Пока нет." },
    when_col => { en: "When", ru: "Когда" },
    what_col => { en: "What", ru: "Что" },
    from_col => { en: "From", ru: "Откуда" },
    from_unknown => { en: "unknown", ru: "неизвестно" },
    from_administrator => { en: "an administrator", ru: "администратор" },
    outcome_failure => { en: "(failed)", ru: "(неудачно)" },
    outcome_denied => { en: "(refused)", ru: "(отклонено)" },
    ev_login => { en: "Sign-in", ru: "Вход" },
    ev_logout => { en: "Sign-out", ru: "Выход" },
    ev_lock => { en: "Sign-in paused after failed attempts", ru: "Вход приостановлен после неудачных попыток" },
    ev_consent => { en: "Access for an application", ru: "Доступ для приложения" },
    ev_password_change => { en: "Password changed", ru: "Пароль изменён" },
    ev_password_reset => { en: "Password reset", ru: "Пароль сброшен" },
    ev_password_reset_requested => { en: "Password reset asked for", ru: "Запрошен сброс пароля" },
    ev_profile_update => { en: "Profile changed", ru: "Профиль изменён" },
    ev_session_revoke => { en: "Session signed out", ru: "Сеанс завершён" },
    ev_mfa_enrol => { en: "Second factor added", ru: "Добавлен второй фактор" },
    ev_mfa_remove => { en: "Second factor removed", ru: "Удалён второй фактор" },
    ev_mfa_recovery => { en: "New recovery codes", ru: "Новые коды восстановления" },
    ev_verify => { en: "Email or phone confirmed", ru: "Почта или телефон подтверждены" },
    ev_admin => { en: "Changed by an administrator", ru: "Изменено администратором" },
    ev_other => { en: "Other account event", ru: "Другое событие аккаунта" },
    // --- admin console ---
    c_title => { en: "Console", ru: "Консоль" },
    c_nav => { en: "Console sections", ru: "Разделы консоли" },
    c_home => { en: "Overview", ru: "Обзор" },
    c_users => { en: "Users", ru: "Пользователи" },
    c_accounts => { en: "Customer accounts", ru: "Клиенты" },
    c_my_account => { en: "Our company", ru: "Наша компания" },
    c_applications => { en: "Applications", ru: "Приложения" },
    c_roles => { en: "Roles", ru: "Роли" },
    c_audit => { en: "Audit trail", ru: "Журнал аудита" },
    c_users_about => {
        en: "Find, create, block and unblock users; roles, permissions and second factors.",
        ru: "Поиск, создание, блокировка пользователей; роли, права и вторые факторы.",
    },
    c_accounts_about => {
        en: "B2B customer accounts: create, suspend, second-factor policy, identity providers.",
        ru: "B2B-клиенты: создание, приостановка, политика второго фактора, поставщики удостоверений.",
    },
    c_my_account_about => {
        en: "Your company's account and its identity providers (SSO).",
        ru: "Учётная запись вашей компании и её поставщики удостоверений (SSO).",
    },
    c_applications_about => {
        en: "OAuth applications: redirect addresses, grants, secrets.",
        ru: "OAuth-приложения: адреса возврата, способы получения токенов, секреты.",
    },
    c_roles_about => { en: "Roles and the permissions each gives.", ru: "Роли и права, которые даёт каждая." },
    c_audit_about => { en: "Who did what, and when.", ru: "Кто, что и когда сделал." },
    c_sign_out => { en: "Sign out", ru: "Выйти" },
    c_signed_in_as => { en: "Signed in as {name}", ru: "Вы вошли как {name}" },
    c_no_access => {
        en: "Your role gives no access to the console. Ask an administrator if you need it.",
        ru: "Ваша роль не даёт доступа к консоли. Если он нужен, обратитесь к администратору.",
    },
    c_staff_scope => {
        en: "You act as platform staff, across every customer account.",
        ru: "Вы действуете как сотрудник платформы — во всех клиентах.",
    },
    c_account_scope => {
        en: "You act for the customer account {name} only.",
        ru: "Вы действуете только от имени клиента {name}.",
    },
    c_console_off => {
        en: "The console is turned off on this server.",
        ru: "Консоль на этом сервере отключена.",
    },
    c_signin_failed => {
        en: "The sign-in to the console did not complete.",
        ru: "Вход в консоль не завершён.",
    },
    c_try_again => { en: "Try again", ru: "Попробовать снова" },
    c_invalid => { en: "Check {field}: {detail}", ru: "Проверьте поле {field}: {detail}" },
    c_forbidden => { en: "Not allowed: {detail}", ru: "Не разрешено: {detail}" },
    c_not_found => { en: "Not found, or not yours to see.", ru: "Не найдено или недоступно вам." },
    c_conflict => { en: "Conflict: {detail}", ru: "Конфликт: {detail}" },
    c_changed_meanwhile => {
        en: "Someone changed this meanwhile. Reload the page and try again.",
        ru: "Кто-то изменил это за это время. Обновите страницу и повторите.",
    },
    c_search => { en: "Search", ru: "Поиск" },
    c_search_hint => {
        en: "The start of a username or email; *text* — contains; \"text\" — exactly.",
        ru: "Начало имени пользователя или почты; *текст* — содержит; \"текст\" — точно.",
    },
    c_role => { en: "Role", ru: "Роль" },
    c_status => { en: "Status", ru: "Статус" },
    c_any => { en: "Any", ru: "Любой" },
    c_account => { en: "Customer account", ru: "Клиент" },
    c_no_account => { en: "None (platform staff)", ru: "Нет (сотрудник платформы)" },
    c_filter => { en: "Show", ru: "Показать" },
    c_pages => { en: "Pages", ru: "Страницы" },
    c_next_page => { en: "Next page", ru: "Следующая страница" },
    c_first_page => { en: "First page", ru: "Первая страница" },
    c_none_found => { en: "Nothing found.", ru: "Ничего не найдено." },
    c_new_user => { en: "New user", ru: "Новый пользователь" },
    c_initial_password => { en: "Initial password", ru: "Начальный пароль" },
    c_create => { en: "Create", ru: "Создать" },
    c_created => { en: "Created", ru: "Создан" },
    c_status_active => { en: "active", ru: "активен" },
    c_status_blocked => { en: "blocked", ru: "заблокирован" },
    c_status_deleted => { en: "deleted", ru: "удалён" },
    c_status_suspended => { en: "suspended", ru: "приостановлен" },
    c_change_role => { en: "Change the role", ru: "Сменить роль" },
    c_permissions => { en: "Extra permissions", ru: "Дополнительные права" },
    c_no_permissions => { en: "None beyond the role.", ru: "Нет, кроме прав роли." },
    c_permission => { en: "Permission (resource:action)", ru: "Право (ресурс:действие)" },
    c_grant => { en: "Grant", ru: "Выдать" },
    c_revoke => { en: "Revoke", ru: "Отозвать" },
    c_actions => { en: "Actions", ru: "Действия" },
    c_block => { en: "Block", ru: "Заблокировать" },
    c_unblock => { en: "Unblock", ru: "Разблокировать" },
    c_unlock => { en: "Lift sign-in locks", ru: "Снять блокировку входа" },
    c_reset_factors => { en: "Reset second factors", ru: "Сбросить вторые факторы" },
    c_sign_out_everywhere => { en: "Sign out everywhere", ru: "Завершить все сеансы" },
    c_delete_user => { en: "Delete the user", ru: "Удалить пользователя" },
    c_user_audit => { en: "This user's audit trail", ru: "Журнал аудита по этому пользователю" },
    c_confirm_title => { en: "Are you sure?", ru: "Вы уверены?" },
    c_confirm_block => {
        en: "Block {name}? They are signed out at once and cannot sign in until unblocked.",
        ru: "Заблокировать {name}? Все сеансы сразу завершатся, войти нельзя до разблокировки.",
    },
    c_confirm_reset_factors => {
        en: "Remove every second factor of {name}? They set one up again at their next sign-in.",
        ru: "Удалить все вторые факторы {name}? Настроить заново можно будет при следующем входе.",
    },
    c_confirm_logout => {
        en: "End every session and token of {name}?",
        ru: "Завершить все сеансы и отозвать все токены {name}?",
    },
    c_confirm_delete => {
        en: "Delete {name}? Their personal data is erased. This cannot be undone.",
        ru: "Удалить {name}? Личные данные будут стёрты. Это нельзя отменить.",
    },
    c_confirm_revoke => {
        en: "Revoke {permission} from {name}?",
        ru: "Отозвать право {permission} у {name}?",
    },
    c_confirm_rotate => {
        en: "Make a new secret for {name}? The old one stops working at once.",
        ru: "Создать новый секрет для {name}? Старый сразу перестанет работать.",
    },
    c_confirm_delete_app => {
        en: "Delete the application {name}? Its tokens stop working.",
        ru: "Удалить приложение {name}? Его токены перестанут работать.",
    },
    c_confirm_suspend => {
        en: "Suspend {name}? Its users are signed out and cannot sign in until it is resumed.",
        ru: "Приостановить {name}? Пользователи клиента выйдут и не смогут войти до возобновления.",
    },
    c_confirm_delete_idp => {
        en: "Delete this identity provider of {name}? Its users can no longer sign in through it.",
        ru: "Удалить этого поставщика удостоверений клиента {name}? Через него больше нельзя будет войти.",
    },
    c_yes => { en: "Yes, go on", ru: "Да, продолжить" },
    c_cancel => { en: "Cancel", ru: "Отмена" },
    c_done_saved => { en: "Saved.", ru: "Сохранено." },
    c_done_created => { en: "Created.", ru: "Создано." },
    c_done_blocked => { en: "The user is blocked and signed out.", ru: "Пользователь заблокирован, сеансы завершены." },
    c_done_unblocked => { en: "The user is unblocked.", ru: "Пользователь разблокирован." },
    c_done_unlocked => { en: "Sign-in locks are lifted.", ru: "Блокировки входа сняты." },
    c_done_factors => { en: "Second factors are reset.", ru: "Вторые факторы сброшены." },
    c_done_signed_out => { en: "Every session is ended.", ru: "Все сеансы завершены." },
    c_done_deleted => { en: "Deleted.", ru: "Удалено." },
    c_done_role => { en: "The role is changed.", ru: "Роль изменена." },
    c_done_granted => { en: "The permission is granted.", ru: "Право выдано." },
    c_done_revoked => { en: "The permission is revoked.", ru: "Право отозвано." },
    c_done_stored => { en: "I have stored it", ru: "Я сохранил его" },
    c_new_account => { en: "New customer account", ru: "Новый клиент" },
    c_slug => { en: "Short name", ru: "Короткое имя" },
    c_slug_hint => {
        en: "Latin letters, digits and hyphens; made from the name when empty.",
        ru: "Латинские буквы, цифры и дефисы; если пусто — из названия.",
    },
    c_second_factor_col => { en: "Second factor", ru: "Второй фактор" },
    c_required => { en: "required", ru: "обязателен" },
    c_optional => { en: "optional", ru: "по желанию" },
    c_account_users => { en: "Users of this account", ru: "Пользователи клиента" },
    c_account_audit => { en: "Its audit trail", ru: "Журнал аудита клиента" },
    c_settings => { en: "Settings", ru: "Настройки" },
    c_mfa_required => {
        en: "Every user must sign in with a second factor",
        ru: "Всем пользователям входить со вторым фактором",
    },
    c_suspend => { en: "Suspend the account", ru: "Приостановить клиента" },
    c_resume => { en: "Resume the account", ru: "Возобновить клиента" },
    c_idps => { en: "Identity providers (SSO)", ru: "Поставщики удостоверений (SSO)" },
    c_no_idps => { en: "None yet.", ru: "Пока нет." },
    c_idps_not_allowed => {
        en: "Your role does not manage identity providers.",
        ru: "Ваша роль не управляет поставщиками удостоверений.",
    },
    c_issuer => { en: "Issuer", ru: "Издатель (issuer)" },
    c_client_id => { en: "Client ID", ru: "Идентификатор клиента (client_id)" },
    c_client_secret => { en: "Client secret", ru: "Секрет клиента" },
    c_domains => { en: "Email domains, comma-separated", ru: "Домены почты через запятую" },
    c_domains_col => { en: "Email domains", ru: "Домены почты" },
    c_jit => { en: "Create users at their first sign-in", ru: "Создавать пользователей при первом входе" },
    c_new_idp => { en: "Add an identity provider", ru: "Добавить поставщика удостоверений" },
    c_enabled_state => { en: "on", ru: "включено" },
    c_disabled_state => { en: "off", ru: "выключено" },
    c_turn_on => { en: "Turn on", ru: "Включить" },
    c_turn_off => { en: "Turn off", ru: "Выключить" },
    c_delete => { en: "Delete", ru: "Удалить" },
    c_description => { en: "Description", ru: "Описание" },
    c_scope_col => { en: "Holders", ru: "Для кого" },
    c_scope_staff => { en: "platform staff", ru: "сотрудники платформы" },
    c_scope_account => { en: "customer accounts", ru: "клиенты" },
    c_permissions_col => { en: "Permissions", ru: "Права" },
    c_builtin => { en: "built-in", ru: "встроенная" },
    c_new_role => { en: "New role", ru: "Новая роль" },
    c_role_name => { en: "Name (latin letters, digits, _)", ru: "Имя (латинские буквы, цифры, _)" },
    c_role_permissions => {
        en: "Permissions, separated by spaces (resource:action, e.g. parcels:read)",
        ru: "Права через пробел (ресурс:действие, например parcels:read)",
    },
    c_confirm_delete_role => {
        en: "Delete the role {name}? It cannot be deleted while users or applications hold it.",
        ru: "Удалить роль {name}? Роль нельзя удалить, пока она есть у пользователей или приложений.",
    },
    c_kind => { en: "Kind", ru: "Тип" },
    c_confidential => { en: "confidential", ru: "конфиденциальное" },
    c_public_kind => { en: "public", ru: "публичное" },
    c_grants_col => { en: "Grants", ru: "Способы получения токенов" },
    c_legacy => { en: "legacy tools only", ru: "только для старых инструментов" },
    c_first_party_short => { en: "first-party", ru: "собственное" },
    c_new_app => { en: "New application", ru: "Новое приложение" },
    c_redirect_uris => { en: "Redirect URIs, one per line", ru: "Адреса возврата, по одному в строке" },
    c_post_logout_uris => {
        en: "Addresses after sign-out, one per line",
        ru: "Адреса после выхода, по одному в строке",
    },
    c_scopes => { en: "Scopes, separated by spaces", ru: "Области доступа через пробел" },
    c_scopes_hint => {
        en: "Empty: the standard OpenID Connect scopes.",
        ru: "Пусто — стандартные области OpenID Connect.",
    },
    c_service_role => { en: "Service role (client_credentials)", ru: "Роль сервиса (client_credentials)" },
    c_no_role => { en: "None", ru: "Нет" },
    c_public => {
        en: "Public client: no secret, PKCE (browser and mobile apps)",
        ru: "Публичный клиент: без секрета, с PKCE (браузерные и мобильные приложения)",
    },
    c_first_party => {
        en: "First-party: no consent page; may call the account and admin APIs",
        ru: "Собственное: без страницы согласия; может вызывать API аккаунта и администрирования",
    },
    c_introspect => { en: "May introspect tokens", ru: "Может проверять токены (introspection)" },
    c_enabled => { en: "Enabled", ru: "Включено" },
    c_rotate => { en: "Make a new secret", ru: "Создать новый секрет" },
    c_delete_app => { en: "Delete the application", ru: "Удалить приложение" },
    c_secret_once => {
        en: "The secret of {name} is shown this once. Store it now in the application's configuration:",
        ru: "Секрет приложения {name} показывается один раз. Сохраните его сейчас в настройках приложения:",
    },
    c_action => { en: "Action", ru: "Действие" },
    c_actor => { en: "Who", ru: "Кто" },
    c_target => { en: "On what", ru: "Над чем" },
    c_outcome => { en: "Outcome", ru: "Результат" },
    c_outcome_success => { en: "success", ru: "успешно" },
    c_outcome_failure => { en: "failure", ru: "неудача" },
    c_outcome_denied => { en: "refused", ru: "отказано" },
}
