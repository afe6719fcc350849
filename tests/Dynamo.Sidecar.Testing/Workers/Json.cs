using System.Globalization;
using System.Text;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// How one serializer spells JSON. The workers differ in exactly these ways: Python's <c>json.dumps</c>
/// puts a space after <c>,</c> and <c>:</c> and escapes every non-ASCII character; pydantic's
/// <c>model_dump_json</c>, Rust's serde_json, msgspec and nlohmann's <c>dump()</c> write compact JSON
/// and keep UTF-8; Go's <c>encoding/json</c> writes compact JSON and escapes <c>&lt; &gt; &amp;</c>.
/// </summary>
public sealed record JsonStyle(string ItemSeparator, string KeySeparator, bool EscapeNonAscii, bool EscapeHtml)
{
    /// <summary>pydantic <c>model_dump_json</c>, serde_json, msgspec, nlohmann <c>dump()</c>.</summary>
    public static JsonStyle Compact { get; } = new(",", ":", EscapeNonAscii: false, EscapeHtml: false);

    /// <summary>Python <c>json.dumps(obj)</c> with its defaults (<c>ensure_ascii=True</c>).</summary>
    public static JsonStyle PythonDumps { get; } = new(", ", ": ", EscapeNonAscii: true, EscapeHtml: false);

    /// <summary>Go <c>json.Marshal</c> (HTML-safe escaping on).</summary>
    public static JsonStyle GoMarshal { get; } = new(",", ":", EscapeNonAscii: false, EscapeHtml: true);
}

/// <summary>A JSON object whose members keep the order the worker's serializer writes them in.</summary>
public sealed class OrderedJsonObject(params (string Key, object? Value)[] members)
{
    public IReadOnlyList<(string Key, object? Value)> Members { get; } = members;

    public string ToJson(JsonStyle style) => Json.Write(this, style);
}

/// <summary>JSON text written as is, e.g. a delta a test spells by hand.</summary>
public sealed record RawJson(string Text);

/// <summary>
/// Renders <see cref="OrderedJsonObject"/> trees: values are strings, integers, doubles, booleans, <c>null</c>,
/// nested objects, arrays (<see cref="Json.Array"/>) and <see cref="RawJson"/>.
/// </summary>
public static class Json
{
    public static OrderedJsonObject Object(params (string Key, object? Value)[] members) => new(members);

    public static object?[] Array(params object?[] items) => items;

    public static string Write(object? value, JsonStyle style)
    {
        var builder = new StringBuilder();
        Append(builder, value, style);
        return builder.ToString();
    }

    /// <summary>A JSON string literal as <paramref name="style"/> escapes it.</summary>
    public static string Quote(string text, JsonStyle style)
    {
        var builder = new StringBuilder(text.Length + 2);
        AppendString(builder, text, style);
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, object? value, JsonStyle style)
    {
        switch (value)
        {
            case null:
                builder.Append("null");
                break;
            case string text:
                AppendString(builder, text, style);
                break;
            case bool flag:
                builder.Append(flag ? "true" : "false");
                break;
            case int or long:
                builder.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            case double number:
                // Python, pydantic, serde and nlohmann all print the shortest round-trip form and keep ".0" on whole numbers.
                var written = number.ToString("R", CultureInfo.InvariantCulture);
                builder.Append(written).Append(written.Contains('.', StringComparison.Ordinal) || written.Contains('E', StringComparison.Ordinal) ? "" : ".0");
                break;
            case RawJson raw:
                builder.Append(raw.Text);
                break;
            case OrderedJsonObject json:
                builder.Append('{');
                for (var i = 0; i < json.Members.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(style.ItemSeparator);
                    }

                    AppendString(builder, json.Members[i].Key, style);
                    builder.Append(style.KeySeparator);
                    Append(builder, json.Members[i].Value, style);
                }

                builder.Append('}');
                break;
            case System.Collections.IEnumerable items:
                builder.Append('[');
                var first = true;
                foreach (var item in items)
                {
                    if (!first)
                    {
                        builder.Append(style.ItemSeparator);
                    }

                    first = false;
                    Append(builder, item, style);
                }

                builder.Append(']');
                break;
            default:
                throw new ArgumentException($"No JSON form for {value.GetType().Name}.", nameof(value));
        }
    }

    private static void AppendString(StringBuilder builder, string text, JsonStyle style)
    {
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case < ' ':
                    AppendUnicodeEscape(builder, c);
                    break;
                case '<' or '>' or '&' when style.EscapeHtml:
                    AppendUnicodeEscape(builder, c);
                    break;
                case '\u2028' or '\u2029' when style.EscapeHtml:
                    AppendUnicodeEscape(builder, c);
                    break;
                case > '~' when style.EscapeNonAscii:
                    // C# strings are UTF-16, so a surrogate pair comes out as two escapes, as Python writes it.
                    AppendUnicodeEscape(builder, c);
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
    }

    private static void AppendUnicodeEscape(StringBuilder builder, char c) =>
        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
}
