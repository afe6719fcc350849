using System.Text;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>Structural mutations of a JSON tree: wrong types where numbers and arrays are expected, huge numbers, deep nesting, duplicate and missing members.</summary>
internal static class JMutator
{
    /// <summary>Nesting depths around the reader's limits (64 by default, 1024 in the sidecar).</summary>
    public static readonly int[] Depths = [30, 63, 64, 65, 200, 1021, 1022, 1023, 1024, 1025, 1500];

    /// <param name="asChunk">Also turn the root into a usage-only chunk (<c>"choices": []</c> plus a usage of any shape).</param>
    public static void Mutate(Random rng, JNode root, int count, bool asChunk, Func<long, long, long?, JObj> usage)
    {
        var objects = new List<JObj>();
        var numbers = new List<(JObj Owner, int Index)>();
        Collect(root, objects, numbers);
        if (objects.Count == 0)
        {
            return;
        }

        for (var m = 0; m < count; m++)
        {
            var target = rng.Pick(objects);
            switch (rng.Next(asChunk ? 7 : 6))
            {
                case 0 when target.Members.Count > 0:
                    var index = rng.Next(target.Members.Count);
                    target.Members[index] = new(target.Members[index].Key, WrongValue(rng));
                    break;
                case 1 when numbers.Count > 0:
                case 2 when numbers.Count > 0:
                    var (owner, at) = rng.Pick(numbers);
                    if (at < owner.Members.Count)
                    {
                        owner.Members[at] = new(owner.Members[at].Key, new JNum(rng.Pick(Fuzz.HugeNumbers)));
                    }

                    break;
                case 3:
                    target.Add("nested", Nest(rng, rng.Pick(Depths)));
                    break;
                case 4 when target.Members.Count > 0:
                    var duplicate = rng.Pick(target.Members);
                    target.Members.Insert(rng.Next(target.Members.Count + 1), new(duplicate.Key, rng.Chance(0.5) ? duplicate.Value : WrongValue(rng)));
                    break;
                case 5 when target.Members.Count > 0:
                    target.Members.RemoveAt(rng.Next(target.Members.Count));
                    break;
                case 6 when root is JObj chunk:
                    chunk.Members.RemoveAll(member => member.Key is "choices" or "usage");
                    chunk.Add("choices", rng.Chance(0.8) ? new JArr() : WrongValue(rng));
                    chunk.Add("usage", rng.Chance(0.7) ? usage(rng.Next(100), rng.Next(100), null) : WrongValue(rng));
                    break;
            }
        }
    }

    public static JNode WrongValue(Random rng) => rng.Next(10) switch
    {
        0 => new JStr("12"),
        1 => new JNum(rng.Pick(Fuzz.HugeNumbers)),
        2 => new JArr(new JNum(1), JRaw.Null),
        3 => new JArr(),
        4 => new JObj(),
        5 => new JObj().Add("prompt_tokens", "x").Add("completion_tokens", new JArr()),
        6 => JRaw.True,
        7 => JRaw.Null,
        8 => new JObj().Add("prompt_tokens", new JNum(rng.Pick(Fuzz.HugeNumbers))).Add("completion_tokens", new JNum(rng.Pick(Fuzz.HugeNumbers))),
        _ => new JObj().Add("content", 5).Add("tool_calls", new JObj()),
    };

    public static JNode Nest(Random rng, int depth)
    {
        var arrays = rng.Chance(0.5);
        var text = new StringBuilder(depth * 6);
        for (var i = 0; i < depth; i++)
        {
            text.Append(arrays ? "[" : "{\"a\":");
        }

        text.Append('1');
        for (var i = 0; i < depth; i++)
        {
            text.Append(arrays ? ']' : '}');
        }

        return new JRaw(text.ToString());
    }

    private static void Collect(JNode node, List<JObj> objects, List<(JObj, int)> numbers)
    {
        switch (node)
        {
            case JObj obj:
                objects.Add(obj);
                for (var i = 0; i < obj.Members.Count; i++)
                {
                    if (obj.Members[i].Value is JNum)
                    {
                        numbers.Add((obj, i));
                    }

                    Collect(obj.Members[i].Value, objects, numbers);
                }

                break;
            case JArr arr:
                foreach (var item in arr.Items)
                {
                    Collect(item, objects, numbers);
                }

                break;
        }
    }
}
