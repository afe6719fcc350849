using System.Globalization;
using System.Text;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>A tiny JSON tree the generators build, mutate structurally, then write with chosen white space and escapes.</summary>
internal abstract class JNode;

internal sealed class JObj : JNode
{
    public List<KeyValuePair<string, JNode>> Members { get; } = [];

    public JObj Add(string name, JNode value)
    {
        Members.Add(new(name, value));
        return this;
    }

    public JObj Add(string name, string value) => Add(name, new JStr(value));

    public JObj Add(string name, long value) => Add(name, new JNum(value));
}

internal sealed class JArr : JNode
{
    public JArr(params JNode[] items) => Items.AddRange(items);

    public List<JNode> Items { get; } = [];
}

internal sealed class JStr(string value) : JNode
{
    public string Value { get; } = value;
}

/// <summary>A number exactly as written (so huge, negative and fractional spellings survive).</summary>
internal sealed class JNum : JNode
{
    public JNum(string raw) => Raw = raw;

    public JNum(long value) => Raw = value.ToString(CultureInfo.InvariantCulture);

    public string Raw { get; }
}

/// <summary>Verbatim text: <c>true</c>, <c>false</c>, <c>null</c>, or deliberately broken JSON.</summary>
internal sealed class JRaw(string raw) : JNode
{
    public static JRaw Null => new("null");
    public static JRaw True => new("true");
    public static JRaw False => new("false");

    public string Raw { get; } = raw;
}

internal enum JStyle
{
    Compact,
    Spaced,
    /// <summary>One token group per line, LF between them (split into several <c>data:</c> lines in SSE).</summary>
    Pretty,
    /// <summary>Random JSON white space between tokens; CR and LF only when <c>allowNewlines</c>.</summary>
    Random,
}

internal sealed class JWriter
{
    private readonly Random _rng;
    private readonly JStyle _style;
    private readonly bool _allowNewlines;
    private readonly double _escapeNames;
    private readonly double _escapeStrings;
    private readonly StringBuilder _text = new();

    private JWriter(Random rng, JStyle style, bool allowNewlines)
    {
        _rng = rng;
        _style = style;
        _allowNewlines = allowNewlines;
        _escapeNames = rng.Next(4) == 0 ? 0.2 : 0;
        _escapeStrings = rng.Next(3) == 0 ? 0.3 : 0;
    }

    public static string Write(JNode node, Random rng, JStyle style, bool allowNewlines)
    {
        var writer = new JWriter(rng, style, allowNewlines);
        writer.Value(node, 0);
        return writer._text.ToString();
    }

    private void Value(JNode node, int depth)
    {
        switch (node)
        {
            case JObj obj:
                _text.Append('{');
                for (var i = 0; i < obj.Members.Count; i++)
                {
                    if (i > 0)
                    {
                        _text.Append(',');
                    }

                    Gap(depth + 1);
                    String(obj.Members[i].Key, _escapeNames);
                    Colon();
                    Value(obj.Members[i].Value, depth + 1);
                }

                if (obj.Members.Count > 0)
                {
                    Gap(depth);
                }

                _text.Append('}');
                break;
            case JArr arr:
                _text.Append('[');
                for (var i = 0; i < arr.Items.Count; i++)
                {
                    if (i > 0)
                    {
                        _text.Append(',');
                    }

                    Gap(depth + 1);
                    Value(arr.Items[i], depth + 1);
                }

                if (arr.Items.Count > 0)
                {
                    Gap(depth);
                }

                _text.Append(']');
                break;
            case JStr str:
                String(str.Value, _escapeStrings);
                break;
            case JNum num:
                _text.Append(num.Raw);
                break;
            case JRaw raw:
                _text.Append(raw.Raw);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(node));
        }
    }

    private void Colon()
    {
        switch (_style)
        {
            case JStyle.Compact:
                _text.Append(':');
                break;
            case JStyle.Random:
                Whitespace();
                _text.Append(':');
                Whitespace();
                break;
            default:
                _text.Append(": ");
                break;
        }
    }

    private void Gap(int depth)
    {
        switch (_style)
        {
            case JStyle.Spaced:
                _text.Append(' ');
                break;
            case JStyle.Pretty:
                _text.Append('\n').Append(' ', Math.Min(depth, 8) * 2);
                break;
            case JStyle.Random:
                Whitespace();
                break;
        }
    }

    private void Whitespace()
    {
        if (_rng.Next(3) != 0)
        {
            return;
        }

        var count = _rng.Next(1, 4);
        for (var i = 0; i < count; i++)
        {
            var pick = _rng.Next(_allowNewlines ? 4 : 2);
            _text.Append(pick switch { 0 => ' ', 1 => '\t', 2 => '\n', _ => '\r' });
        }
    }

    private void String(string value, double escapeChance)
    {
        _text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': _text.Append("\\\""); break;
                case '\\': _text.Append(_rng.Next(4) == 0 ? "\\u005C" : "\\\\"); break;
                case '\n': _text.Append("\\n"); break;
                case '\r': _text.Append("\\r"); break;
                case '\t': _text.Append("\\t"); break;
                default:
                    if (c < 0x20 || char.IsSurrogate(c) || (escapeChance > 0 && _rng.NextDouble() < escapeChance))
                    {
                        // Lone surrogates only come out escaped: raw they would not be UTF-8.
                        _text.Append("\\u").Append(((int)c).ToString(_rng.Next(2) == 0 ? "x4" : "X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        _text.Append(c);
                    }

                    break;
            }
        }

        _text.Append('"');
    }
}
