"""English and Russian: the English text is the key, RU maps it to Russian. A missing entry shows English."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g, request, session

RU = {
    "Hotline": "Горячая линия",
    "Dashboard": "Обзор",
    "Configuration": "Настройка",
    "Records": "Журнал",
    "Statistics": "Статистика",
    "Console": "Пульт оператора",
    "Simulation": "Симуляция",
    "Backup": "Резервная копия",
    "Users": "Пользователи",
    "Log out": "Выйти",
    "Log in": "Войти",
    "Set up the box": "Первоначальная настройка",
    "Create the first admin account. There is no default password.":
        "Создайте первую учётную запись администратора. Пароля по умолчанию нет.",
    "User name": "Имя пользователя",
    "Password": "Пароль",
    "Password again": "Пароль ещё раз",
    "Language": "Язык",
    "Role": "Роль",
    "Create": "Создать",
    "Save": "Сохранить",
    "Delete": "Удалить",
    "Add": "Добавить",
    "Wrong user name or password.": "Неверное имя пользователя или пароль.",
    "Too many sign-in attempts: try again in a minute.": "Слишком много попыток входа: повторите через минуту.",
    "Setup code": "Код настройки",
    "Wrong setup code: see the box's journal, or run `hotline setup-code` on it.":
        "Неверный код настройки: он в журнале устройства, или выполните на нём `hotline setup-code`.",
    "The setup code is printed in the box's journal and on its console; `hotline setup-code` shows it.":
        "Код настройки напечатан в журнале устройства и на его консоли; его показывает `hotline setup-code`.",
    "Log out everywhere": "Выйти на всех устройствах",
    "This box does not answer to the name {host!r}; add it with hotline web --trusted-host.":
        "Устройство не отвечает на имя {host!r}; добавьте его: hotline web --trusted-host.",
    "The passwords differ.": "Пароли не совпадают.",
    "Lines": "Линии",
    "Handsets": "Телефоны",
    "Callers waiting": "Ожидающие абоненты",
    "Calls now": "Текущие звонки",
    "Today": "Сегодня",
    "Line": "Линия",
    "State": "Состояние",
    "Registration": "Регистрация",
    "Signal": "Сигнал",
    "Network operator": "Оператор сети",
    "Handset": "Телефон",
    "Operator": "Оператор",
    "Caller": "Абонент",
    "Menu": "Меню",
    "Seconds": "Секунды",
    "Calls": "Звонки",
    "Answered": "Отвечено",
    "Abandoned": "Брошено",
    "Average wait, s": "Среднее ожидание, с",
    "Cannot reach the box": "Нет связи с устройством",
    "Alarms": "Тревоги",
    "since": "с",
    "Box": "Устройство",
    "Prompts": "Фразы",
    "Schedule": "Расписание",
    "Flow": "Сценарий",
    "Revisions": "Версии",
    "TOML": "TOML",
    "Saved as revision {id} and applied.": "Сохранено как версия {id} и применено.",
    "Saved as revision {id}; lines and handsets change at the next restart.":
        "Сохранено как версия {id}; линии и телефоны изменятся после перезапуска.",
    "Nothing changed.": "Ничего не изменилось.",
    "Not saved: fix the problems marked below.": "Не сохранено: исправьте отмеченные ошибки.",
    "The box refused the config: {error}": "Устройство отклонило настройки: {error}",
    "Revert to this revision": "Вернуть эту версию",
    "Test ring": "Пробный звонок",
    "Listen": "Прослушать",
    "Upload a recording": "Загрузить запись",
    "New prompt name": "Имя новой фразы",
    "New node name": "Имя нового узла",
    "New id": "Новый идентификатор",
    "Block this number": "Заблокировать номер",
    "Block": "Заблокировать",
    "Block this caller? Their calls will be refused.": "Заблокировать абонента? Его звонки будут отклоняться.",
    "for a day": "на день", "for a week": "на неделю", "for a month": "на месяц", "for a year": "на год",
    "for good": "навсегда", "further notice": "отмены",
    "This caller withheld the number: there is nothing to block.": "Абонент скрыл номер: блокировать нечего.",
    "The caller is blocked until {until}.": "Абонент заблокирован до {until}.",
    "New items are kept once you press Save.": "Новое сохранится, когда вы нажмёте «Сохранить».",
    "Type": "Тип",
    "Start node": "Начальный узел",
    "Force open": "Открыть принудительно",
    "Force closed": "Закрыть принудительно",
    "Follow the hours": "По расписанию",
    "Search": "Поиск",
    "From": "С",
    "To": "По",
    "Outcome": "Результат",
    "Started": "Начало",
    "Wait, s": "Ожидание, с",
    "Talk, s": "Разговор, с",
    "Export CSV": "Выгрузить CSV",
    "Timeline": "Ход звонка",
    "Notes": "Заметки",
    "Call type": "Тип обращения",
    "Categories": "Категории",
    "Note": "Заметка",
    "Previous calls": "Предыдущие звонки",
    "No call on this handset.": "На этом телефоне нет звонка.",
    "Call the box": "Позвонить",
    "Hang up": "Положить трубку",
    "Lift": "Снять трубку",
    "Replace": "Положить",
    "Caller number": "Номер абонента",
    "Download a backup": "Скачать резервную копию",
    "Restore": "Восстановить",
    "Voicemail": "Голосовая почта",
    "cut short": "оборвано",
    "The box stopped while the caller was speaking: this is what was recorded until then.":
        "Блок остановился, пока абонент говорил: здесь то, что успело записаться.",
    "No voicemail yet: the box does not record messages in this version.":
        "Голосовой почты пока нет: эта версия не записывает сообщения.",
    "Service level": "Уровень обслуживания",
    "Total": "Всего",
    "idle": "свободен", "ringing": "звонит", "on call": "разговор", "off-hook": "трубка снята",
    "up": "работает", "down": "не работает", "starting": "запуск",
    "in menu": "в меню", "answering": "ответ", "ringing operators": "вызов операторов", "connected": "соединён",
    "completed": "завершён", "abandoned": "брошен", "failed": "сбой", "interrupted": "прерван",
    "unanswered": "без ответа", "closed": "нерабочее время", "missed": "пропущен", "left in menu": "ушёл из меню",
    "transferred": "переведён", "rejected_busy": "отклонён: линия занята",
    "Hand over to a service": "Перевести в службу", "Transfer": "Перевести",
    "Transferring the caller.": "Абонент переводится.",
    # Desk work: operators, inboxes, callbacks, the announcement, privacy and tokens.
    "A caller's data": "Данные абонента",
    "A number, a pseudonym (~...) or a caller key. Every export and erase is in the audit log.":
        "Номер, псевдоним (~...) или ключ абонента. Каждая выгрузка и удаление попадают в журнал доступа.",
    "API tokens": "Ключи API", "About the caller": "Об абоненте", "All": "Все", "Asked at": "Запрошено",
    "Assignee": "Исполнитель", "At": "Время", "Attempts": "Попытки", "Audit log": "Журнал доступа",
    "Back from pause": "Вернуться с перерыва", "Call back now": "Перезвонить сейчас",
    "Call type saved.": "Тип обращения сохранён.", "Callbacks": "Перезвоны", "Callbacks to do": "Кому перезвонить",
    "Calling back now.": "Перезваниваем.", "Calls taken": "Принято звонков", "Category": "Категория",
    "Client": "Клиент", "Contact saved.": "Контакт сохранён.", "Created": "Создан", "Day": "День",
    "Detail": "Подробности", "Did": "Действие", "Download everything kept (JSON)": "Скачать всё хранимое (JSON)",
    "Emergency announcement": "Экстренное объявление", "Emergency announcement on": "Включено экстренное объявление",
    "Erase": "Удаление", "Erase every call, note, message and recording of this caller":
        "Удалить все звонки, заметки, сообщения и записи этого абонента",
    "Erased: {removed}.": "Удалено: {removed}.", "For, min": "Уже, мин", "Left at": "Оставлено",
    "Listened": "Прослушано", "Log in at the handset": "Войти на телефоне",
    "Log out of the handset": "Выйти с телефона",
    "Mark done": "Отметить выполненным", "Marked done.": "Отмечено.", "Name": "Имя", "New token": "Новый ключ",
    "No callback is waiting.": "Перезвонов в ожидании нет.", "No voicemail yet.": "Голосовых сообщений пока нет.",
    "Not erased: type the same number again to confirm.": "Не удалено: для подтверждения введите тот же номер ещё раз.",
    "Note saved.": "Заметка сохранена.", "Number": "Номер", "Offered to operators": "Передано операторам",
    "Open a ticket": "Открыть заявку", "Operators": "Операторы",
    "Or type the words (they become the prompt “announcement”)": "Или введите текст (он станет фразой «announcement»)",
    "Pause": "Перерыв", "Privacy": "Персональные данные", "Prompt": "Фраза", "Reason": "Причина",
    "Received": "Входящие", "Revoke": "Отозвать", "Revoked.": "Отозван.", "SMS": "SMS",
    "SMS to the announcements list (optional)": "SMS списку рассылки объявлений (необязательно)",
    "Save contact": "Сохранить контакт", "Search notes": "Поиск по заметкам", "Sent": "Отправленные",
    "Switch off": "Выключить", "Switch on": "Включить", "Text": "Текст",
    "The announcement is off.": "Объявление выключено.",
    "The announcement is on; {count} SMS queued.": "Объявление включено; SMS в очереди: {count}.",
    "The call": "Звонок", "The same again, to confirm": "Ещё раз, для подтверждения",
    "The token for {client}, shown this once:": "Ключ для {client}, показывается один раз:",
    "Ticket opened.": "Заявка открыта.", "Ticket saved.": "Заявка сохранена.", "Who": "Кто", "new": "новое",
    "{name}: done.": "{name}: готово.",
    "waiting": "ожидает", "available": "свободен", "paused": "перерыв", "logged_out": "не в сети",
    "on_call": "разговор",
    "wrap_up": "после звонка", "open": "открыта", "in progress": "в работе", "voicemail": "голосовая почта",
    "no answer": "без ответа", "ended by flow": "завершён сценарием", "blocked": "заблокирован",
    "unclassified": "без типа", "data": "по существу", "silent": "молчание", "hang-up": "сброс",
    "abusive": "оскорбления", "test": "проверка", "legal": "юридический", "psychology": "психология",
    "health": "здоровье", "housing": "жильё", "family": "семья", "work": "работа", "other": "другое",
    # The flow tree, the schedule calendar, charts and the knowledge base.
    "The flow from its start": "Сценарий от начального узла", "start": "начало",
    "missing node": "нет узла", "Not reachable from the start": "Недостижимо от начала",
    "The start names no node: {start}": "Начальный узел не существует: {start}",
    "January": "Январь", "February": "Февраль", "March": "Март", "April": "Апрель", "May": "Май", "June": "Июнь",
    "July": "Июль", "August": "Август", "September": "Сентябрь", "October": "Октябрь", "November": "Ноябрь",
    "December": "Декабрь", "Mon": "Пн", "Tue": "Вт", "Wed": "Ср", "Thu": "Чт", "Fri": "Пт", "Sat": "Сб", "Sun": "Вс",
    "holiday": "праздник", "special working day": "рабочий (перенос)", "Calendar": "Календарь",
    "Click a day to make it a one-off holiday, or a working day again.":
        "Нажмите на день, чтобы сделать его разовым праздником или снова рабочим.",
    "Always open is on: holidays and hours do not close the line.":
        "Включён режим «всегда открыто»: праздники и часы работы линию не закрывают.",
    "Import dates": "Импорт дат", "Not imported: {error}": "Не импортировано: {error}",
    "One date a line: YYYY-MM-DD, or MM-DD for every year": "По дате в строке: ГГГГ-ММ-ДД или ММ-ДД (каждый год)",
    "Import as": "Импортировать как", "Hours of a special working day": "Часы работы в перенесённый рабочий день",
    "Import": "Импортировать", "24 h": "24 ч",
    "Calls per hour of the day": "Звонки по часам суток", "Calls per day": "Звонки по дням",
    "Answered and abandoned": "Отвеченные и брошенные", "Answered per operator": "Отвечено операторами",
    "Knowledge base": "База знаний", "New article": "Новая статья", "Edit the article": "Правка статьи",
    "Edit": "Изменить", "Title": "Заголовок", "Tags, separated by commas": "Метки через запятую",
    "Article saved.": "Статья сохранена.", "Article deleted.": "Статья удалена.",
    "Search the knowledge base": "Поиск по базе знаний", "No article matches.": "Статей не найдено.",
    "No articles yet.": "Статей пока нет.",
    "calls": "звонков", "answered": "отвечено", "Hour": "Час", "Calls today by hour": "Звонки сегодня по часам",
}


def language() -> str:
    user = g.get("user")
    if user:
        return user["lang"]
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in ("en", "ru"):
        return chosen
    return request.accept_languages.best_match(["en", "ru"]) or "en"


def translate(text: str, **values: object) -> str:
    if language() == "ru":
        text = RU.get(text, text)
    return text.format(**values) if values else text


def catalog() -> dict[str, str]:
    """The strings the dashboard's script shows (states), in the page's language."""
    keys = ("idle", "ringing", "on call", "off-hook", "up", "down", "starting", "in menu", "answering",
            "ringing operators", "connected", "Cannot reach the box", "Test ring", "Lift", "Replace")
    return {key: translate(key) for key in keys}


def install(app: Flask) -> None:
    app.jinja_env.globals.update(_=translate, language=language, i18n_catalog=catalog)
    app.jinja_env.filters["datetime"] = _local_time


def _local_time(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S") if epoch else ""
